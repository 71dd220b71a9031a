package lint

import (
	"encoding/json"
	"io"
	"net/url"
	"strings"
)

// SARIF 2.1.0 document, reduced to what claimdrift writes.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	toolURI      = "https://github.com/claimdrift/claimdrift"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                   `json:"tool"`
	OriginalURIBaseIDs map[string]sarifArtifactLoc `json:"originalUriBaseIds,omitempty"`
	ColumnKind         string                      `json:"columnKind"`
	Results            []sarifResult               `json:"results"`
}

type sarifArtifactLoc struct {
	URI string `json:"uri"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	ShortDescription     sarifText       `json:"shortDescription"`
	FullDescription      sarifText       `json:"fullDescription"`
	Help                 sarifText       `json:"help"`
	DefaultConfiguration sarifRuleConfig `json:"defaultConfiguration"`
	Properties           map[string]any  `json:"properties,omitempty"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID     string          `json:"ruleId"`
	RuleIndex  int             `json:"ruleIndex"`
	Level      string          `json:"level"`
	Message    sarifText       `json:"message"`
	Locations  []sarifLocation `json:"locations,omitempty"`
	Properties map[string]any  `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

// srcRoot is the uriBaseId of every file location: the linted directory.
const srcRoot = "%SRCROOT%"

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

func sarifLevel(s Severity) string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	}
	return "note"
}

// WriteSARIF writes a SARIF 2.1.0 log with one run per linted directory
// (one for a single directory), every rule's metadata in tool.driver.rules,
// and one result per finding, located by a URI relative to the linted
// directory (uriBaseId %SRCROOT%, resolved by the run's originalUriBaseIds
// when the directory's absolute path is known), line and column.
func WriteSARIF(w io.Writer, res *Result, opts WriteOptions) error {
	var rules []sarifRule
	index := map[string]int{}
	for i, r := range Rules {
		index[r.ID] = i
		rules = append(rules, sarifRule{
			ID:                   r.ID,
			Name:                 r.Name,
			ShortDescription:     sarifText{Text: r.Short},
			FullDescription:      sarifText{Text: r.Help},
			Help:                 sarifText{Text: r.Help},
			DefaultConfiguration: sarifRuleConfig{Level: sarifLevel(r.Default)},
		})
	}
	roots := res.roots
	if len(roots) == 0 {
		roots = []string{""}
	}
	known := map[string]bool{}
	for _, r := range roots {
		known[r] = true
	}
	var runs []sarifRun
	seen := map[string]bool{}
	for _, root := range roots {
		if seen[root] {
			continue
		}
		seen[root] = true
		run := sarifRun{
			Tool: sarifTool{Driver: sarifDriver{
				Name:           "claimdrift",
				Version:        opts.ToolVersion,
				InformationURI: toolURI,
				Rules:          rules,
			}},
			ColumnKind: "unicodeCodePoints",
			Results:    []sarifResult{},
		}
		if root != "" {
			run.OriginalURIBaseIDs = map[string]sarifArtifactLoc{srcRoot: {URI: dirURI(root)}}
		}
		for _, f := range res.Findings {
			// A finding of no listed root goes into the first run.
			if f.root != root && (known[f.root] || root != roots[0]) {
				continue
			}
			run.Results = append(run.Results, sarifResultOf(f, index))
		}
		runs = append(runs, run)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: runs})
}

func sarifResultOf(f Finding, index map[string]int) sarifResult {
	msg := f.Message
	if f.Fix != "" {
		msg += ". Fix: " + f.Fix
	}
	sr := sarifResult{
		RuleID:    f.Rule,
		RuleIndex: index[f.Rule],
		Level:     sarifLevel(f.Severity),
		Message:   sarifText{Text: msg},
		Properties: map[string]any{
			"resource": f.Resource,
		},
	}
	if f.Attribute != "" {
		sr.Properties["attribute"] = f.Attribute
	}
	if f.Fix != "" {
		sr.Properties["fix"] = f.Fix
	}
	if len(f.References) > 0 {
		sr.Properties["references"] = f.References
	}
	if f.Plan != "" {
		sr.Properties["plan"] = f.Plan
	}
	if f.File != "" {
		rel := f.rel
		if rel == "" {
			rel = f.File
		}
		sr.Locations = []sarifLocation{{
			PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: sarifURI(strings.TrimPrefix(rel, "/")), URIBaseID: srcRoot},
				Region:           sarifRegion{StartLine: f.Line, StartColumn: f.Column},
			},
			LogicalLocations: []sarifLogical{{FullyQualifiedName: f.Resource, Kind: "resource"}},
		}}
	}
	return sr
}

// dirURI is the file URI of an absolute directory, ending in a slash as
// SARIF requires of a base URI.
func dirURI(dir string) string {
	p := strings.ReplaceAll(dir, "\\", "/")
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive path
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// sarifURI turns a slash-separated file path into a relative URI reference.
func sarifURI(p string) string {
	var b strings.Builder
	for _, c := range []byte(p) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '/', c == '.', c == '-', c == '_', c == '~':
			b.WriteByte(c)
		default:
			b.WriteString("%")
			b.WriteString(strings.ToUpper(hex2(c)))
		}
	}
	return b.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}
