package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/claimdrift/claimdrift/analyzer"
)

// Markdown writes a report as a pull-request comment: a summary line, a
// table of replacements and details per resource. The output never exceeds
// opts.MaxMarkdownBytes (GitHub's comment limit by default): the summary is
// always kept, and rows and details that do not fit are replaced by a line
// saying how many were left out.
func Markdown(w io.Writer, r *analyzer.Report, opts Options) error {
	_, err := io.WriteString(w, markdownString(r, opts))
	return err
}

func markdownString(r *analyzer.Report, opts Options) string {
	limit := opts.MaxMarkdownBytes
	if limit <= 0 {
		limit = MaxCommentSize
	}
	var head strings.Builder
	icon := "✅"
	if len(r.Replacements) > 0 {
		icon = "⚠️"
	}
	fmt.Fprintf(&head, "### %s claimdrift: %s\n\n", icon, headline(r))
	fmt.Fprintf(&head, "**Plan:** %s", summaryLine(r.Summary))
	if o := origin(r); o != "" {
		fmt.Fprintf(&head, " · %s", mdEscape(o))
	}
	head.WriteString("\n\n")
	if r.Errored {
		fmt.Fprintf(&head, "> [!CAUTION]\n> %s.\n", capitalize(erroredNote))
		for _, d := range r.Diagnostics {
			fmt.Fprintf(&head, "> - %s\n", mdEscape(d))
		}
		head.WriteString("\n")
	}
	if r.Incomplete {
		fmt.Fprintf(&head, "> [!NOTE]\n> %s.\n\n", capitalize(incompleteNote))
	}
	if r.Input == analyzer.InputPlanStream && len(r.Replacements) > 0 {
		fmt.Fprintf(&head, "> [!NOTE]\n> %s.\n\n", capitalize(streamNote))
	}

	var rows []string
	for _, rep := range r.Replacements {
		paths := "—"
		if len(rep.Paths) > 0 {
			ps := make([]string, len(rep.Paths))
			for i, p := range rep.Paths {
				ps[i] = htmlCode(p)
			}
			paths = strings.Join(ps, ", ")
		}
		risk := mdCell(rep.Risk)
		if rep.Risk == analyzer.RiskHigh {
			risk = "**high**"
		}
		claim := ""
		if rep.ClaimSensitive {
			claim = " (claim-sensitive)"
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s%s | %s |\n", htmlCode(rep.Resource), mdCell(rep.Reason), orderText(rep.Order), paths, claim, risk))
	}
	var details []string
	for _, rep := range r.Replacements {
		if len(rep.Changes) == 0 {
			continue
		}
		var d strings.Builder
		fmt.Fprintf(&d, "<details><summary>%s</summary>\n\n", htmlCode(rep.Resource))
		d.WriteString("| Path | Before | After | Caused by |\n|---|---|---|---|\n")
		for _, ch := range rep.Changes {
			cause := "—"
			if len(ch.References) > 0 {
				rs := make([]string, len(ch.References))
				for i, r := range ch.References {
					rs[i] = htmlCode(r)
				}
				cause = strings.Join(rs, ", ")
				if ch.ClaimSensitive {
					cause += " **(claim-sensitive)**"
				}
				if len(ch.ReplacedReferences) > 0 {
					cause += " _(replaced in this plan)_"
				}
			}
			path := htmlCode(ch.Path)
			if len(ch.ChangedKeys) > 0 {
				ks := make([]string, len(ch.ChangedKeys))
				for i, k := range ch.ChangedKeys {
					ks[i] = htmlCode(k)
				}
				path += "<br>changed: " + strings.Join(ks, ", ")
			}
			fmt.Fprintf(&d, "| %s | %s | %s | %s |\n", path, mdValue(ch.Before, opts), mdValue(ch.After, opts), cause)
		}
		if rep.Fix != "" {
			lines := strings.Split(rep.Fix, "\n")
			for i, l := range lines {
				lines[i] = strings.ReplaceAll(clean(l), "```", "`\u200b``")
			}
			fmt.Fprintf(&d, "\nFix (in the resource block):\n\n```hcl\n%s\n```\n", strings.Join(lines, "\n"))
		}
		d.WriteString("\n</details>\n\n")
		details = append(details, d.String())
	}
	var drift strings.Builder
	if len(r.Drift) > 0 {
		fmt.Fprintf(&drift, "<details><summary>Changed outside Terraform (drift): %d</summary>\n\n", len(r.Drift))
		for _, d := range r.Drift {
			ps := make([]string, len(d.Paths))
			for i, p := range d.Paths {
				ps[i] = htmlCode(p)
			}
			fmt.Fprintf(&drift, "- %s (%s): %s\n", htmlCode(d.Resource), mdCell(strings.Join(d.Actions, ",")), strings.Join(ps, ", "))
		}
		drift.WriteString("\n</details>\n")
	}

	// Assemble within the limit, keeping room for the closing line.
	const reserve = 256
	var out strings.Builder
	out.WriteString(head.String())
	budget := limit - reserve
	left := 0
	if len(rows) > 0 {
		table := "| Resource | Reason | Order | Paths | Risk |\n|---|---|---|---|---|\n"
		if out.Len()+len(table) <= budget {
			out.WriteString(table)
			for i, row := range rows {
				if out.Len()+len(row) > budget {
					left = len(rows) - i
					break
				}
				out.WriteString(row)
			}
			out.WriteString("\n")
		} else {
			left = len(rows)
		}
	}
	detailsLeft := 0
	if left == 0 {
		for i, d := range details {
			if out.Len()+len(d) > budget {
				detailsLeft = len(details) - i
				break
			}
			out.WriteString(d)
		}
		if detailsLeft == 0 && out.Len()+drift.Len() <= budget {
			out.WriteString(drift.String())
		} else if drift.Len() > 0 {
			detailsLeft++
		}
	} else {
		detailsLeft = len(details)
	}
	if left > 0 || detailsLeft > 0 {
		fmt.Fprintf(&out, "\n_%s and %s left out to fit the comment size limit; run `claimdrift analyze` for the full report._\n",
			plural(left, "table row", "table rows"), plural(detailsLeft, "detail section", "detail sections"))
	}
	s := out.String()
	if len(s) > limit { // only with a limit smaller than the header
		s = s[:limit]
	}
	return s
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// mdEscape escapes text for a markdown paragraph or table cell.
func mdEscape(s string) string {
	s = clean(s)
	r := strings.NewReplacer("|", "\\|", "<", "&lt;", ">", "&gt;", "*", "\\*", "_", "\\_", "[", "\\[", "]", "\\]")
	return r.Replace(s)
}

func mdCell(s string) string {
	if s == "" {
		return "—"
	}
	return mdEscape(s)
}

// htmlCode writes s as an HTML <code> element, which (unlike backticks)
// can hold any character inside a markdown table.
func htmlCode(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "|", "&#124;", "`", "&#96;", "*", "&#42;", "_", "&#95;", "[", "&#91;", "]", "&#93;")
	return "<code>" + r.Replace(clean(s)) + "</code>"
}

func mdValue(v string, opts Options) string {
	switch v {
	case analyzer.SensitiveValue, analyzer.UnknownValue:
		return "_" + v + "_"
	}
	return htmlCode(analyzer.Shorten(v, opts.valueLen()))
}
