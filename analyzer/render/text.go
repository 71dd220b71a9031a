package render

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/claimdrift/claimdrift/analyzer"
)

type palette struct{ bold, red, yellow, dim, reset string }

func newPalette(color bool) palette {
	if !color {
		return palette{}
	}
	return palette{bold: "\x1b[1m", red: "\x1b[31m", yellow: "\x1b[33m", dim: "\x1b[2m", reset: "\x1b[0m"}
}

// Text writes a report for a terminal.
func Text(w io.Writer, r *analyzer.Report, opts Options) error {
	bw := bufio.NewWriter(w)
	p := newPalette(opts.Color)
	fmt.Fprintf(bw, "%sclaimdrift: %s%s", p.bold, headline(r), p.reset)
	if o := origin(r); o != "" {
		fmt.Fprintf(bw, " %s(%s)%s", p.dim, strings.ReplaceAll(o, "`", ""), p.reset)
	}
	fmt.Fprintln(bw)
	if r.Errored {
		fmt.Fprintf(bw, "\n%sWARNING: %s.%s\n", p.red+p.bold, erroredNote, p.reset)
		for _, d := range r.Diagnostics {
			fmt.Fprintf(bw, "  error: %s\n", clean(d))
		}
	}
	if r.Incomplete {
		fmt.Fprintf(bw, "\n%sNOTE: %s.%s\n", p.yellow, incompleteNote, p.reset)
	}
	if len(r.Replacements) > 0 {
		fmt.Fprintln(bw)
	}
	for _, rep := range r.Replacements {
		sym := "-/+"
		if rep.Order == analyzer.OrderCreateBeforeDestroy {
			sym = "+/-"
		}
		fmt.Fprintf(bw, "%s%s%s %s%s%s", p.red, sym, p.reset, p.bold, clean(rep.Resource), p.reset)
		if rep.Deposed != "" {
			fmt.Fprintf(bw, " (deposed object %s)", clean(rep.Deposed))
		}
		fmt.Fprintf(bw, "  %s(%s)%s\n", p.dim, orderText(rep.Order), p.reset)
		if rep.PreviousResource != "" {
			fmt.Fprintf(bw, "    moved from: %s\n", clean(rep.PreviousResource))
		}
		reason := clean(rep.Reason)
		if reason == "" {
			reason = "(none)"
		}
		fmt.Fprintf(bw, "    reason: %s", reason)
		if t := reasonText(rep.Reason); t != rep.Reason && rep.Reason != "" {
			fmt.Fprintf(bw, " %s(%s)%s", p.dim, t, p.reset)
		}
		fmt.Fprintln(bw)
		if len(rep.Changes) == 0 {
			if r.Input != analyzer.InputPlanStream {
				fmt.Fprintln(bw, "    no attribute forced it: the plan gives no replace paths")
			}
			continue
		}
		fmt.Fprintln(bw, "    forced by:")
		for _, ch := range rep.Changes {
			fmt.Fprintf(bw, "      %s%s%s: %s %s→%s %s\n", p.yellow, clean(ch.Path), p.reset,
				textValue(ch.Before, opts), p.dim, p.reset, textValue(ch.After, opts))
			if len(ch.ChangedKeys) > 0 {
				fmt.Fprintf(bw, "        changed: %s\n", clean(strings.Join(ch.ChangedKeys, ", ")))
			}
			if len(ch.References) > 0 {
				tag := ""
				if ch.ClaimSensitive {
					tag = " " + p.red + "[claim-sensitive]" + p.reset
				}
				if len(ch.ReplacedReferences) > 0 {
					tag += " " + p.yellow + "[replaced in this plan: " + clean(strings.Join(ch.ReplacedReferences, ", ")) + "]" + p.reset
				}
				fmt.Fprintf(bw, "        from: %s%s\n", clean(strings.Join(ch.References, ", ")), tag)
			}
		}
		if rep.Risk == analyzer.RiskHigh {
			fmt.Fprintf(bw, "    %srisk: high%s (a %s holds data: replacing it loses what it stores)\n", p.red+p.bold, p.reset, clean(rep.Type))
		}
		if rep.Fix != "" {
			fmt.Fprintln(bw, "    fix (in the resource block):")
			for _, line := range strings.Split(rep.Fix, "\n") {
				fmt.Fprintf(bw, "      %s\n", clean(line))
			}
		}
	}
	if r.Input == analyzer.InputPlanStream && len(r.Replacements) > 0 {
		fmt.Fprintf(bw, "\nNote: %s.\n", strings.ReplaceAll(streamNote, "`", ""))
	}
	if len(r.Drift) > 0 {
		fmt.Fprintf(bw, "\nChanged outside Terraform (drift): %d\n", len(r.Drift))
		for _, d := range r.Drift {
			paths := "(no attribute paths)"
			if len(d.Paths) > 0 {
				paths = clean(strings.Join(d.Paths, ", "))
			}
			fmt.Fprintf(bw, "  ~ %s [%s]: %s\n", clean(d.Resource), clean(strings.Join(d.Actions, ",")), paths)
		}
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(bw, "\nwarning: %s\n", clean(w))
	}
	fmt.Fprintf(bw, "\nSummary: %s\n", summaryLine(r.Summary))
	return bw.Flush()
}

// textValue prints a rendered value: placeholders as they are, other values
// with the empty string shown as "".
func textValue(v string, opts Options) string {
	switch v {
	case analyzer.SensitiveValue, analyzer.UnknownValue:
		return v
	}
	if v == "" {
		return `""`
	}
	return clean(analyzer.Shorten(v, opts.valueLen()))
}
