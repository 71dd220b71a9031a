package lint

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Formats accepted by Write.
var Formats = []string{"text", "json", "sarif", "github"}

// WriteOptions tune the writers.
type WriteOptions struct {
	// Color allows ANSI colors in the text format.
	Color bool
	// ToolVersion is recorded in SARIF output.
	ToolVersion string
}

// Write renders res in the named format.
func Write(w io.Writer, format string, res *Result, opts WriteOptions) error {
	switch format {
	case "text":
		return WriteText(w, res, opts)
	case "json":
		return WriteJSON(w, res)
	case "sarif":
		return WriteSARIF(w, res, opts)
	case "github":
		return WriteGitHub(w, res)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[2m"
)

// WriteText writes one block per finding, then a summary line.
func WriteText(w io.Writer, res *Result, opts WriteOptions) error {
	bw := bufio.NewWriter(w)
	paint := func(code, s string) string {
		if !opts.Color {
			return s
		}
		return code + s + ansiReset
	}
	for _, f := range res.Findings {
		sev := f.Severity.String()
		switch f.Severity {
		case SeverityError:
			sev = paint(ansiRed, sev)
		case SeverityWarning:
			sev = paint(ansiYellow, sev)
		default:
			sev = paint(ansiCyan, sev)
		}
		loc := "(plan)"
		if f.File != "" {
			loc = fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Column)
		}
		fmt.Fprintf(bw, "%s: %s: %s: %s %s\n", loc, sev, f.Resource, oneLine(f.Message), paint(ansiDim, "["+f.Rule+"]"))
		if f.Plan != "" {
			fmt.Fprintf(bw, "    plan: %s\n", f.Plan)
		}
		if f.Fix != "" {
			fmt.Fprintf(bw, "    fix: %s\n", f.Fix)
		}
	}
	if len(res.Findings) == 0 {
		fmt.Fprintln(bw, "No problems found.")
	} else {
		fmt.Fprintf(bw, "\n%d %s: %d %s, %d %s, %d info\n",
			len(res.Findings), plural(len(res.Findings), "problem", "problems"),
			res.Count(SeverityError), plural(res.Count(SeverityError), "error", "errors"),
			res.Count(SeverityWarning), plural(res.Count(SeverityWarning), "warning", "warnings"),
			res.Count(SeverityInfo))
	}
	return bw.Flush()
}

// jsonDoc is the document of `--format json`.
type jsonDoc struct {
	Schema   string         `json:"schema"`
	Summary  map[string]int `json:"summary"`
	Findings []Finding      `json:"findings"`
}

// WriteJSON writes {"schema": "claimdrift.lint/v1", "summary": {...},
// "findings": [...]}, findings in Result order.
func WriteJSON(w io.Writer, res *Result) error {
	doc := jsonDoc{
		Schema: Schema,
		Summary: map[string]int{
			"error":   res.Count(SeverityError),
			"warning": res.Count(SeverityWarning),
			"info":    res.Count(SeverityInfo),
		},
		Findings: res.Findings,
	}
	if doc.Findings == nil {
		doc.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

// WriteGitHub writes GitHub Actions workflow commands (::error, ::warning,
// ::notice), which annotate the files of a pull request.
func WriteGitHub(w io.Writer, res *Result) error {
	bw := bufio.NewWriter(w)
	for _, f := range res.Findings {
		cmd := "notice"
		switch f.Severity {
		case SeverityError:
			cmd = "error"
		case SeverityWarning:
			cmd = "warning"
		}
		var props []string
		if f.File != "" {
			props = append(props,
				"file="+ghProperty(f.File),
				fmt.Sprintf("line=%d", f.Line),
				fmt.Sprintf("col=%d", f.Column))
		}
		props = append(props, "title="+ghProperty(f.Rule+": "+f.Resource))
		msg := f.Message
		if f.Fix != "" {
			msg += "\nfix: " + f.Fix
		}
		fmt.Fprintf(bw, "::%s %s::%s\n", cmd, strings.Join(props, ","), ghData(msg))
	}
	return bw.Flush()
}

// ghData escapes a workflow command's message.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes a workflow command's property value.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
