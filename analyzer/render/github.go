package render

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/claimdrift/claimdrift/analyzer"
)

// GitHub writes GitHub Actions workflow commands: one ::warning per
// replaced resource (and ::error for a partial plan), then the markdown
// report as a block for the job summary ($GITHUB_STEP_SUMMARY).
func GitHub(w io.Writer, r *analyzer.Report, opts Options) error {
	bw := bufio.NewWriter(w)
	if r.Errored {
		fmt.Fprintf(bw, "::error title=%s::%s\n", ghProperty("Partial plan"), ghData(erroredNote))
	}
	for _, rep := range r.Replacements {
		msg := clean(fmt.Sprintf("%s will be replaced (%s; %s)", rep.Resource, reasonOrNone(rep.Reason), orderText(rep.Order)))
		if len(rep.Changes) > 0 {
			var parts []string
			for _, ch := range rep.Changes {
				parts = append(parts, clean(fmt.Sprintf("%s: %s → %s", ch.Path,
					analyzer.Shorten(ch.Before, opts.valueLen()), analyzer.Shorten(ch.After, opts.valueLen()))))
			}
			msg += "\n" + strings.Join(parts, "\n")
		} else if len(rep.Paths) > 0 {
			msg += ": " + clean(strings.Join(rep.Paths, ", "))
		}
		fmt.Fprintf(bw, "::warning title=%s::%s\n", ghProperty(clean("Resource replaced: "+rep.Resource)), ghData(msg))
	}
	fmt.Fprintln(bw)
	bw.WriteString(markdownString(r, opts))
	return bw.Flush()
}

func reasonOrNone(r string) string {
	if r == "" {
		return "no reason given"
	}
	return r
}

// ghData escapes a workflow command's message (the part after "::"), so
// that no value from the plan can end the command or start another.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes a workflow command property value.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
