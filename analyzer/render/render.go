package render

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/claimdrift/claimdrift/analyzer"
)

// Formats lists the names accepted by Write.
var Formats = []string{"text", "json", "markdown", "github"}

// Options tune the output.
type Options struct {
	// Color enables ANSI color in the text format.
	Color bool
	// MaxValueLen shortens before/after values in text, markdown and
	// github output; 0 means 120.
	MaxValueLen int
	// MaxMarkdownBytes bounds the markdown output (GitHub comments hold at
	// most 65,536 characters); 0 means MaxCommentSize.
	MaxMarkdownBytes int
}

// MaxCommentSize is the largest body GitHub accepts for a comment.
const MaxCommentSize = 65536

func (o Options) valueLen() int {
	if o.MaxValueLen <= 0 {
		return 120
	}
	return o.MaxValueLen
}

// ErrUnknownFormat is returned by Write for a format it does not know.
var ErrUnknownFormat = fmt.Errorf("unknown format (want one of %s)", strings.Join(Formats, ", "))

// Write renders r to w in the named format.
func Write(w io.Writer, format string, r *analyzer.Report, opts Options) error {
	switch format {
	case "text", "":
		return Text(w, r, opts)
	case "json":
		return JSON(w, r)
	case "markdown", "md":
		return Markdown(w, r, opts)
	case "github":
		return GitHub(w, r, opts)
	}
	return fmt.Errorf("%w: %q", ErrUnknownFormat, format)
}

// JSON writes the report as indented JSON (schema claimdrift.report/v1),
// in the report's deterministic order. Replacements are encoded one at a
// time, so a large report is never held twice in memory.
func JSON(w io.Writer, r *analyzer.Report) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	shell := *r
	shell.Replacements = []analyzer.Replacement{}
	head, err := marshalIndent(&shell, "", "  ")
	if err != nil {
		return err
	}
	const marker = `"replacements": []`
	i := bytes.Index(head, []byte(marker))
	if i < 0 || len(r.Replacements) == 0 {
		bw.Write(head)
		bw.WriteByte('\n')
		return bw.Flush()
	}
	bw.Write(head[:i])
	bw.WriteString("\"replacements\": [\n")
	for n := range r.Replacements {
		b, err := marshalIndent(&r.Replacements[n], "    ", "  ")
		if err != nil {
			return err
		}
		bw.WriteString("    ")
		bw.Write(b)
		if n < len(r.Replacements)-1 {
			bw.WriteByte(',')
		}
		bw.WriteByte('\n')
	}
	bw.WriteString("  ]")
	bw.Write(head[i+len(marker):])
	bw.WriteByte('\n')
	return bw.Flush()
}

// marshalIndent is json.MarshalIndent without HTML escaping.
func marshalIndent(v any, prefix, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// summaryLine describes the summary in words.
func summaryLine(s analyzer.Summary) string {
	parts := []string{
		fmt.Sprintf("%d to replace", s.Replace),
		fmt.Sprintf("%d to create", s.Create),
		fmt.Sprintf("%d to update", s.Update),
		fmt.Sprintf("%d to delete", s.Delete),
		fmt.Sprintf("%d to read", s.Read),
		fmt.Sprintf("%d unchanged", s.NoOp),
	}
	if s.Forget > 0 {
		parts = append(parts, fmt.Sprintf("%d to forget", s.Forget))
	}
	if s.Deferred > 0 {
		parts = append(parts, fmt.Sprintf("%d deferred", s.Deferred))
	}
	parts = append(parts, fmt.Sprintf("%d drifted", s.Drifted))
	if len(s.Other) > 0 {
		keys := make([]string, 0, len(s.Other))
		for k := range s.Other {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%d %s", s.Other[k], k))
		}
	}
	return strings.Join(parts, ", ")
}

// reasonText explains an action_reason in words; unknown reasons are
// returned as they are.
func reasonText(reason string) string {
	switch reason {
	case "replace_because_cannot_update":
		return "the provider cannot update these attributes in place"
	case "replace_because_tainted":
		return "the resource is tainted"
	case "replace_by_request":
		return "replacement was requested with -replace"
	case "replace_by_triggers":
		return "replace_triggered_by in the configuration"
	case "":
		return "no reason given in the plan"
	}
	return reason
}

func orderText(order string) string {
	switch order {
	case analyzer.OrderCreateBeforeDestroy:
		return "create before destroy"
	case analyzer.OrderDestroyBeforeCreate:
		return "destroy before create"
	}
	return "order not given"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// headline is the one-line verdict shared by the formats.
func headline(r *analyzer.Report) string {
	n := len(r.Replacements)
	var s string
	if n == 0 {
		s = "no resources will be replaced"
	} else {
		s = plural(n, "resource", "resources") + " will be replaced"
	}
	if r.Ignored > 0 {
		s += fmt.Sprintf(" (%d more ignored)", r.Ignored)
	}
	return s
}

// origin names the tool and plan format the report came from.
func origin(r *analyzer.Report) string {
	var parts []string
	if r.TerraformVersion != "" {
		parts = append(parts, "Terraform/OpenTofu "+r.TerraformVersion)
	}
	switch r.Input {
	case analyzer.InputPlanStream:
		parts = append(parts, "`plan -json` stream")
	case analyzer.InputPlanJSON:
		if r.PlanFormatVersion != "" {
			parts = append(parts, "plan format "+r.PlanFormatVersion)
		}
	}
	return strings.Join(parts, ", ")
}

const (
	erroredNote    = "this plan errored: Terraform stopped planning early, so the list of changes may be incomplete"
	incompleteNote = "this plan is not complete (some changes were deferred); more changes may follow"
	streamNote     = "the `terraform plan -json` stream does not carry attribute paths; run claimdrift on `terraform show -json PLANFILE` to see which attributes forced each replacement"
)
