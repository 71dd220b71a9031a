// Command tfjson-baseline is the straightforward way to list the resources a
// plan replaces, kept as the baseline that `make bench` measures claimdrift
// against: read the whole `terraform show -json` document, decode it into
// terraform-json's Plan with encoding/json, walk ResourceChanges and print
// the address of every replacement, sorted, one a line.
//
//	tfjson-baseline PLAN.json
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"

	tfjson "github.com/hashicorp/terraform-json"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tfjson-baseline PLAN.json")
		os.Exit(1)
	}
	if err := run(os.Args[1], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tfjson-baseline:", err)
		os.Exit(1)
	}
}

func run(path string, stdout io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read plan: %w", err)
	}
	var plan tfjson.Plan
	if err := json.Unmarshal(data, &plan); err != nil {
		return fmt.Errorf("decode plan: %w", err)
	}
	var addrs []string
	for _, rc := range plan.ResourceChanges {
		if rc.Change != nil && rc.Change.Actions.Replace() {
			addrs = append(addrs, rc.Address)
		}
	}
	sort.Strings(addrs)
	w := bufio.NewWriter(stdout)
	for _, a := range addrs {
		fmt.Fprintln(w, a)
	}
	return w.Flush()
}
