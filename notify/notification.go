package notify

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Kind is what a notification reports.
type Kind string

// Notification kinds.
const (
	// KindResourceReplaced: a claim build replaced resources.
	KindResourceReplaced Kind = "resource_replaced"
	// KindPresetReplacementProne: the reconciler paused a preset whose
	// claims keep replacing resources.
	KindPresetReplacementProne Kind = "preset_replacement_prone"
	// KindPresetHardLimited: the reconciler stopped creating prebuilds for
	// a preset after too many failures in a row.
	KindPresetHardLimited Kind = "preset_hard_limited"
)

// Notification is one piece of news for a template's admins. Values in
// Replacements are already masked by the analyzer (sensitive values are
// analyzer.SensitiveValue), so a notification never carries a secret.
type Notification struct {
	Kind         Kind      `json:"kind"`
	CreatedAt    time.Time `json:"created_at"`
	Organization string    `json:"organization"`
	TemplateID   uuid.UUID `json:"template_id"`
	Template     string    `json:"template"`
	VersionID    uuid.UUID `json:"template_version_id"`
	Version      string    `json:"template_version"`
	PresetID     uuid.UUID `json:"preset_id"`
	Preset       string    `json:"preset"`
	// Workspace, claimant and build: set for KindResourceReplaced.
	WorkspaceID uuid.UUID `json:"workspace_id"`
	Workspace   string    `json:"workspace"`
	Claimant    string    `json:"claimant"`
	BuildID     uuid.UUID `json:"build_id"`
	// Replacements are the replaced resources with paths, reason and
	// before → after values.
	Replacements []Resource `json:"replacements,omitempty"`
	// Reason explains a preset notification in one sentence.
	Reason string `json:"reason,omitempty"`
	// Link points at the workspace, build or template (from the
	// dispatcher's LinkTemplate); "" when none is configured.
	Link string `json:"link,omitempty"`
}

// Title is a one-line summary.
func (n Notification) Title() string {
	switch n.Kind {
	case KindResourceReplaced:
		return fmt.Sprintf("Claim of %s replaced %d %s (template %s, preset %s)",
			orDash(n.Workspace), len(n.Replacements), plural(len(n.Replacements), "resource", "resources"), orDash(n.Template), orDash(n.Preset))
	case KindPresetReplacementProne:
		return fmt.Sprintf("Preset %s of template %s paused: claims keep replacing resources", orDash(n.Preset), orDash(n.Template))
	case KindPresetHardLimited:
		return fmt.Sprintf("Preset %s of template %s stopped: prebuilds keep failing", orDash(n.Preset), orDash(n.Template))
	}
	return fmt.Sprintf("%s: template %s, preset %s", n.Kind, orDash(n.Template), orDash(n.Preset))
}

// Text renders the notification as plain text.
func (n Notification) Text() string {
	var b strings.Builder
	b.WriteString(n.Title())
	b.WriteString("\n\n")
	for _, f := range n.fields() {
		fmt.Fprintf(&b, "%-13s %s\n", f[0]+":", f[1])
	}
	if n.Reason != "" {
		fmt.Fprintf(&b, "\n%s\n", n.Reason)
	}
	if len(n.Replacements) > 0 {
		b.WriteString("\nReplaced resources:\n")
		for _, r := range n.Replacements {
			fmt.Fprintf(&b, "- %s", r.Resource)
			if r.Reason != "" {
				fmt.Fprintf(&b, " (%s)", r.Reason)
			}
			b.WriteString("\n")
			if len(r.Paths) > 0 {
				fmt.Fprintf(&b, "  forced by: %s\n", strings.Join(r.Paths, ", "))
			} else {
				b.WriteString("  forced by: no attribute path (tainted, replace_triggered_by or -replace)\n")
			}
			for _, c := range r.Changes {
				fmt.Fprintf(&b, "  %s: %q → %q\n", c.Path, c.Before, c.After)
			}
		}
	}
	if fix := n.IgnoreChangesFix(); fix != "" {
		b.WriteString("\nFix: if these attributes may keep their prebuild values, ignore them in the template:\n\n")
		b.WriteString(indent(fix, "    "))
	}
	return b.String()
}

// Markdown renders the notification as markdown (GitHub flavour).
func (n Notification) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", mdEscape(n.Title()))
	b.WriteString("| | |\n|---|---|\n")
	for _, f := range n.fields() {
		v := mdCode(f[1])
		if f[0] == "Link" {
			v = "<" + strings.NewReplacer("<", "%3C", ">", "%3E", " ", "%20").Replace(f[1]) + ">"
		}
		fmt.Fprintf(&b, "| %s | %s |\n", f[0], strings.ReplaceAll(v, "|", `\|`))
	}
	if n.Reason != "" {
		fmt.Fprintf(&b, "\n%s\n", mdEscape(n.Reason))
	}
	if len(n.Replacements) > 0 {
		b.WriteString("\n**Replaced resources**\n\n")
		for _, r := range n.Replacements {
			fmt.Fprintf(&b, "- %s", mdCode(r.Resource))
			if r.Reason != "" {
				fmt.Fprintf(&b, " (%s)", mdCode(r.Reason))
			}
			b.WriteString("\n")
			if len(r.Paths) == 0 {
				b.WriteString("  - forced by no attribute path (tainted, `replace_triggered_by` or `-replace`)\n")
			}
			for _, c := range r.Changes {
				fmt.Fprintf(&b, "  - %s: %s → %s\n", mdCode(c.Path), mdCode(c.Before), mdCode(c.After))
			}
		}
	}
	if fix := n.IgnoreChangesFix(); fix != "" {
		b.WriteString("\n**Fix**: if these attributes may keep their prebuild values, ignore them in the template:\n\n```hcl\n")
		b.WriteString(fix)
		b.WriteString("```\n")
	}
	return b.String()
}

func (n Notification) fields() [][2]string {
	version := n.Version
	if version == "" && n.VersionID != uuid.Nil {
		version = n.VersionID.String()
	}
	f := [][2]string{
		{"Organization", orDash(n.Organization)},
		{"Template", orDash(n.Template)},
		{"Version", orDash(version)},
		{"Preset", orDash(n.Preset)},
	}
	if n.Kind == KindResourceReplaced || n.WorkspaceID != uuid.Nil {
		ws := orDash(n.Workspace)
		if n.WorkspaceID != uuid.Nil {
			ws += " (" + n.WorkspaceID.String() + ")"
		}
		f = append(f, [2]string{"Workspace", ws}, [2]string{"Claimant", orDash(n.Claimant)}, [2]string{"Build", idOrDash(n.BuildID)})
	}
	if n.Link != "" {
		f = append(f, [2]string{"Link", n.Link})
	}
	return f
}

// IgnoreChangesFix returns the lifecycle blocks that would stop the
// replacements, one per resource with attribute paths, built from the
// rendered paths (Terraform traversal syntax). Resources replaced without
// a path (tainted, replace_triggered_by) cannot be fixed this way and are
// left out. Returns "" when nothing can be fixed.
func (n Notification) IgnoreChangesFix() string {
	type block struct {
		module, typ, name string
		paths             []string
	}
	var blocks []*block
	byKey := map[string]*block{}
	for _, r := range n.Replacements {
		if len(r.Paths) == 0 {
			continue
		}
		typ, name := r.Type, r.Name
		if typ == "" || name == "" {
			typ, name = typeAndName(r.Resource, r.Module)
		}
		key := r.Module + "\x00" + typ + "\x00" + name
		bl := byKey[key]
		if bl == nil {
			bl = &block{module: r.Module, typ: typ, name: name}
			byKey[key] = bl
			blocks = append(blocks, bl)
		}
		bl.paths = append(bl.paths, r.Paths...)
	}
	var b strings.Builder
	for i, bl := range blocks {
		sort.Strings(bl.paths)
		bl.paths = compactStrings(bl.paths)
		if i > 0 {
			b.WriteString("\n")
		}
		if bl.module != "" {
			fmt.Fprintf(&b, "# in %s\n", bl.module)
		}
		fmt.Fprintf(&b, "resource %q %q {\n  lifecycle {\n    ignore_changes = [%s]\n  }\n}\n", bl.typ, bl.name, strings.Join(bl.paths, ", "))
	}
	return b.String()
}

// typeAndName recovers the resource type and name from an address such as
// module.a["x"].docker_container.main[0] when the report did not give them.
func typeAndName(address, module string) (string, string) {
	rest := strings.TrimPrefix(strings.TrimPrefix(address, module), ".")
	if i := strings.IndexByte(rest, '['); i >= 0 {
		rest = rest[:i]
	}
	typ, name, ok := strings.Cut(rest, ".")
	if !ok {
		return rest, "?"
	}
	return typ, name
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l == "" {
			continue
		}
		if l != "\n" {
			b.WriteString(prefix)
		}
		b.WriteString(l)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func idOrDash(id uuid.UUID) string {
	if id == uuid.Nil {
		return "-"
	}
	return id.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// mdCode wraps s in a code span long enough to hold any backticks in it.
func mdCode(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + strings.ReplaceAll(s, "\n", " ") + pad + fence
}

var mdEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`, "#", `\#`, "|", `\|`)

func mdEscape(s string) string { return mdEscaper.Replace(s) }
