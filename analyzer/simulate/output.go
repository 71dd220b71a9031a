package simulate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/analyzer/render"
)

// Write renders the results in a format of render.Formats: each result's
// report as `analyze` writes it, after a line naming the preset and the
// two identities, and followed by the re-keyed resources. In json, each
// result is one claimdrift.report/v1 document with a "simulation" object
// added (one document per simulated preset, one after the other).
func Write(w io.Writer, format string, results []Result, opts render.Options) error {
	bw := bufio.NewWriter(w)
	for i := range results {
		res := &results[i]
		var err error
		switch format {
		case "json":
			err = writeJSON(bw, res)
		case "text", "":
			if i > 0 {
				bw.WriteString("\n")
			}
			fmt.Fprintf(bw, "claimdrift simulate: %s\n", describe(&res.Simulation))
			if err = render.Text(bw, res.Report, opts); err == nil {
				writeRekeyedText(bw, res.Simulation.Rekeyed)
			}
		case "markdown", "md":
			if i > 0 {
				bw.WriteString("\n---\n\n")
			}
			fmt.Fprintf(bw, "**claimdrift simulate:** %s\n\n", mdEscape(describe(&res.Simulation)))
			if err = render.Markdown(bw, res.Report, opts); err == nil {
				writeRekeyedMarkdown(bw, res.Simulation.Rekeyed)
			}
		case "github":
			for _, rk := range res.Simulation.Rekeyed {
				fmt.Fprintf(bw, "::warning title=%s::%s\n", ghEscape("Resource re-keyed: "+rk.Resource, true),
					ghEscape(fmt.Sprintf("%s: destroyed as %s, created as %s", describe(&res.Simulation),
						strings.Join(rk.Deleted, ", "), strings.Join(rk.Created, ", ")), false))
			}
			fmt.Fprintf(bw, "::notice title=claimdrift simulate::%s\n", ghEscape(describe(&res.Simulation), false))
			if err = render.GitHub(bw, res.Report, opts); err == nil {
				writeRekeyedMarkdown(bw, res.Simulation.Rekeyed)
			}
		default:
			err = fmt.Errorf("%w: %q", render.ErrUnknownFormat, format)
		}
		if err != nil {
			return err
		}
	}
	return bw.Flush()
}

// describe says which claim was simulated, in one line.
func describe(s *Simulation) string {
	preset := "no preset (parameter defaults)"
	if s.Preset != "" {
		preset = fmt.Sprintf("preset %q", s.Preset)
	}
	settled := fmt.Sprintf("prebuild state settled in %d re-plan", s.Rounds)
	if s.Rounds != 1 {
		settled += "s"
	}
	if !s.Settled {
		settled = fmt.Sprintf("prebuild state NOT settled after %d re-plans", s.Rounds)
	}
	line := fmt.Sprintf("%s: prebuild (owner %s, workspace %s) claimed by %s (workspace %s); %s; %s",
		preset, s.Prebuild.Owner, s.Prebuild.WorkspaceName, s.Claimant.Owner, s.Claimant.WorkspaceName, settled, s.Terraform)
	if s.Workdir != "" {
		line += "; working copy kept in " + s.Workdir
	}
	return line
}

func writeRekeyedText(w *bufio.Writer, rks []Rekey) {
	if len(rks) == 0 {
		return
	}
	fmt.Fprintf(w, "\nre-keyed on claim (destroyed and created under another address: a replacement in all but name):\n")
	for _, rk := range rks {
		fmt.Fprintf(w, "-/+ %s\n    destroyed: %s\n    created:   %s\n", rk.Resource,
			strings.Join(rk.Deleted, ", "), strings.Join(rk.Created, ", "))
	}
}

func writeRekeyedMarkdown(w *bufio.Writer, rks []Rekey) {
	if len(rks) == 0 {
		return
	}
	w.WriteString("\n**Re-keyed on claim** (destroyed and created under another address):\n\n| Resource | Destroyed | Created |\n|---|---|---|\n")
	code := func(addrs []string) string {
		parts := make([]string, len(addrs))
		for i, a := range addrs {
			parts[i] = "`" + strings.ReplaceAll(a, "`", "'") + "`"
		}
		return strings.ReplaceAll(strings.Join(parts, ", "), "|", `\|`)
	}
	for _, rk := range rks {
		fmt.Fprintf(w, "| %s | %s | %s |\n", code([]string{rk.Resource}), code(rk.Deleted), code(rk.Created))
	}
}

func mdEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;", ">", "&gt;", "|", `\|`)
	return r.Replace(s)
}

// ghEscape escapes a workflow command's message or (prop) property value.
func ghEscape(s string, prop bool) string {
	s = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
	if prop {
		s = strings.NewReplacer(":", "%3A", ",", "%2C").Replace(s)
	}
	return s
}

// writeJSON writes one report with its simulation object.
func writeJSON(w io.Writer, res *Result) error {
	doc := struct {
		*analyzer.Report
		Simulation *Simulation `json:"simulation"`
	}{res.Report, &res.Simulation}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}
