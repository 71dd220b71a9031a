package analyzer_test

import (
	"bytes"
	"encoding/json"
	"os"
	"sync"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/analyzer/plangen"
)

// Benchmarks of the parser on generated plans of about 20 MB and 200 MB
// (the sizes `make bench` uses), next to the straightforward decode into
// tfjson.Plan for comparison:
//
//	go test -run '^$' -bench . -benchmem ./analyzer/
//	go test -run '^$' -bench 'Analyze/200MB' -cpuprofile cpu.prof ./analyzer/
//	CLAIMDRIFT_BENCH_PLAN=.bench/plan-200MB-seed1-ratio0.1.json \
//	  go test -run '^$' -bench AnalyzeFile -benchmem ./analyzer/

var benchSizes = []struct {
	name string
	size int64
}{
	{"20MB", 20e6},
	{"200MB", 200e6},
}

var (
	benchMu    sync.Mutex
	benchPlans = map[int64][]byte{}
)

// benchPlan generates (once per process) a plan of about size bytes with
// the options scripts/bench.sh uses.
func benchPlan(b *testing.B, size int64) []byte {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if data, ok := benchPlans[size]; ok {
		return data
	}
	opts := plangen.Options{ReplaceRatio: 0.1, Seed: 1}
	n, err := plangen.ResourcesForSize(size, opts)
	if err != nil {
		b.Fatal(err)
	}
	opts.Resources = n
	var buf bytes.Buffer
	buf.Grow(int(size + size/10))
	if _, err := plangen.Write(&buf, opts); err != nil {
		b.Fatal(err)
	}
	benchPlans[size] = buf.Bytes()
	return buf.Bytes()
}

func BenchmarkAnalyze(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			data := benchPlan(b, sz.size)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			var replaced int
			for b.Loop() {
				rep, err := analyzer.Analyze(bytes.NewReader(data), analyzer.Options{})
				if err != nil {
					b.Fatal(err)
				}
				replaced = len(rep.Replacements)
			}
			if replaced == 0 {
				b.Fatal("no replacement found in the generated plan")
			}
			b.ReportMetric(float64(replaced), "replacements")
		})
	}
}

// BenchmarkAnalyzeClaimPlan analyzes the 20 KB claim plan the service's
// load test uploads (three replaced containers, with configuration and
// prior state): the per-request cost of a track, where fixed costs
// (decoding the configuration, comparing values) dominate.
func BenchmarkAnalyzeClaimPlan(b *testing.B) {
	data, err := os.ReadFile("../testdata/plans/providers/docker.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rep, err := analyzer.Analyze(bytes.NewReader(data), analyzer.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Replacements) != 3 {
			b.Fatalf("%d replacements, want 3", len(rep.Replacements))
		}
	}
}

// BenchmarkAnalyzeFile streams the plan file named by CLAIMDRIFT_BENCH_PLAN
// (e.g. one that scripts/bench.sh generated) from disk, as the CLI does.
func BenchmarkAnalyzeFile(b *testing.B) {
	name := os.Getenv("CLAIMDRIFT_BENCH_PLAN")
	if name == "" {
		b.Skip("set CLAIMDRIFT_BENCH_PLAN to a plan JSON file to benchmark reading it from disk")
	}
	fi, err := os.Stat(name)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	for b.Loop() {
		f, err := os.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		_, err = analyzer.Analyze(f, analyzer.Options{})
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTFJSONDecode measures the approach of cmd/tfjson-baseline: decode
// the whole document into tfjson.Plan and walk ResourceChanges.
func BenchmarkTFJSONDecode(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			data := benchPlan(b, sz.size)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			var replaced int
			for b.Loop() {
				var plan tfjson.Plan
				if err := json.Unmarshal(data, &plan); err != nil {
					b.Fatal(err)
				}
				replaced = 0
				for _, rc := range plan.ResourceChanges {
					if rc.Change != nil && rc.Change.Actions.Replace() {
						replaced++
					}
				}
			}
			b.ReportMetric(float64(replaced), "replacements")
		})
	}
}
