// Command plangen writes a large, realistic Terraform plan document (the
// JSON of `terraform show -json`) for benchmarks:
//
//	plangen -resources 60000 -replace-ratio 0.1 -seed 1 -o plan.json
//	plangen -size 200MB -seed 1 -o plan.json
//
// The same flags always give the same bytes.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/claimdrift/claimdrift/analyzer/plangen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "plangen:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plangen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	resources := fs.Int("resources", 0, "resource instances in resource_changes (default: from -size, else 1000)")
	size := fs.String("size", "", "target size of the document, e.g. 20MB or 200MB (ignored with -resources)")
	ratio := fs.Float64("replace-ratio", 0.1, "share of resources replaced, 0 to 1")
	seed := fs.Uint64("seed", 1, "seed; the same flags give the same bytes")
	out := fs.String("o", "-", "output file, - for stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := plangen.Options{Resources: *resources, ReplaceRatio: *ratio, Seed: *seed}
	if opts.Resources == 0 {
		opts.Resources = 1000
		if *size != "" {
			target, err := parseSize(*size)
			if err != nil {
				return err
			}
			n, err := plangen.ResourcesForSize(target, opts)
			if err != nil {
				return err
			}
			opts.Resources = n
		}
	}
	var w io.Writer = stdout
	var f *os.File
	if *out != "-" {
		var err error
		if f, err = os.Create(*out); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	st, err := plangen.Write(bw, opts)
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "plangen: %d bytes, %d resources, %d replacements, %d drifted (seed %d)\n",
		st.Bytes, st.Resources, st.Replacements, st.Drifted, opts.Seed)
	return nil
}

// parseSize reads 200MB, 20MiB, 1.5GB, 1000000 (bytes).
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	u := strings.ToUpper(strings.TrimSpace(s))
	mult := 1.0
	for _, x := range units {
		if strings.HasSuffix(u, x.suffix) {
			u, mult = strings.TrimSuffix(u, x.suffix), x.mult
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(u), 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("invalid size %q: want e.g. 20MB or 200MB", s)
	}
	return int64(v * mult), nil
}
