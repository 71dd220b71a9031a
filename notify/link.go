package notify

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// LinkTemplate builds the link a notification carries (to the workspace,
// the build, the template…) from a URL with placeholders in braces:
// {organization}, {template}, {template_id}, {template_version},
// {template_version_id}, {preset}, {preset_id}, {workspace},
// {workspace_id}, {claimant}, {build_id}. Values are path-escaped.
type LinkTemplate struct {
	raw string
}

var linkFields = map[string]func(Notification) string{
	"organization":        func(n Notification) string { return n.Organization },
	"template":            func(n Notification) string { return n.Template },
	"template_id":         func(n Notification) string { return idOrEmpty(n.TemplateID.String()) },
	"template_version":    func(n Notification) string { return n.Version },
	"template_version_id": func(n Notification) string { return idOrEmpty(n.VersionID.String()) },
	"preset":              func(n Notification) string { return n.Preset },
	"preset_id":           func(n Notification) string { return idOrEmpty(n.PresetID.String()) },
	"workspace":           func(n Notification) string { return n.Workspace },
	"workspace_id":        func(n Notification) string { return idOrEmpty(n.WorkspaceID.String()) },
	"claimant":            func(n Notification) string { return n.Claimant },
	"build_id":            func(n Notification) string { return idOrEmpty(n.BuildID.String()) },
}

func idOrEmpty(s string) string {
	if s == "00000000-0000-0000-0000-000000000000" {
		return ""
	}
	return s
}

// ErrBadLinkTemplate is returned by ParseLinkTemplate.
var ErrBadLinkTemplate = errors.New("bad link template")

// ParseLinkTemplate checks a link template: an http(s) URL whose
// placeholders are all known, none of them in the scheme, which is kept in
// lower case. "" is the empty template (no links).
func ParseLinkTemplate(s string) (LinkTemplate, error) {
	if s == "" {
		return LinkTemplate{}, nil
	}
	// The scheme is literal: a placeholder in it would make the link
	// something else than http(s) once expanded. Schemes are
	// case-insensitive; links carry it in lower case, as url.Parse reads it.
	k := strings.Index(s, "://")
	if k < 0 || strings.ContainsAny(s[:k], "{}") {
		return LinkTemplate{}, fmt.Errorf("%w: want an http:// or https:// URL", ErrBadLinkTemplate)
	}
	s = strings.ToLower(s[:k]) + s[k:]
	rest := s
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return LinkTemplate{}, fmt.Errorf("%w: unclosed {", ErrBadLinkTemplate)
		}
		name := rest[i+1 : i+j]
		if _, ok := linkFields[name]; !ok {
			return LinkTemplate{}, fmt.Errorf("%w: unknown placeholder {%s}", ErrBadLinkTemplate, trimForLog(name, 40))
		}
		rest = rest[i+j+1:]
	}
	if strings.ContainsRune(rest, '}') {
		return LinkTemplate{}, fmt.Errorf("%w: } without {", ErrBadLinkTemplate)
	}
	u, err := url.Parse(LinkTemplate{raw: s}.Expand(Notification{}))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return LinkTemplate{}, fmt.Errorf("%w: want an http:// or https:// URL", ErrBadLinkTemplate)
	}
	return LinkTemplate{raw: s}, nil
}

// IsZero reports whether the template is empty.
func (lt LinkTemplate) IsZero() bool { return lt.raw == "" }

// String returns the template as given, its scheme in lower case.
func (lt LinkTemplate) String() string { return lt.raw }

// Expand fills the placeholders from n; empty values stay empty.
func (lt LinkTemplate) Expand(n Notification) string {
	if lt.raw == "" {
		return ""
	}
	var b strings.Builder
	rest := lt.raw
	for {
		i := strings.IndexByte(rest, '{')
		j := -1
		if i >= 0 {
			j = strings.IndexByte(rest[i:], '}')
		}
		if i < 0 || j < 0 {
			b.WriteString(rest)
			return b.String()
		}
		b.WriteString(rest[:i])
		if f, ok := linkFields[rest[i+1:i+j]]; ok {
			b.WriteString(url.PathEscape(f(n)))
		} else {
			b.WriteString(rest[i : i+j+1])
		}
		rest = rest[i+j+1:]
	}
}
