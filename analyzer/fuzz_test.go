package analyzer

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"testing"
	"testing/iotest"
)

// FuzzAnalyze feeds arbitrary bytes to the parser: it must never panic, and
// reading the same input one byte at a time (every buffer refill boundary)
// must give the same result as reading it whole. The seed corpus is in
// testdata/fuzz/FuzzAnalyze.
func FuzzAnalyze(f *testing.F) {
	f.Add([]byte(planDoc(`{"address":"a.b","type":"a","change":{"actions":["delete","create"],"before":{"x":"1"},"after":{"x":"2"},"replace_paths":[["x"]]}}`)))
	f.Add([]byte(`{"@level":"info","type":"planned_change","change":{"resource":{"addr":"a.b"},"action":"replace","reason":"tainted"}}`))
	f.Add([]byte(`{"format_version":"1.0","values":{}}`))
	f.Add([]byte("[command]terraform show\n{\"format_version\":\"1.2\",\"planned_values\":{}}\n::debug::x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		whole, errWhole := Analyze(bytes.NewReader(data), Options{MaxValueLen: 40})
		bytewise, errBytewise := Analyze(iotest.OneByteReader(bytes.NewReader(data)), Options{MaxValueLen: 40})
		if (errWhole == nil) != (errBytewise == nil) {
			t.Fatalf("whole read err=%v, byte-wise err=%v", errWhole, errBytewise)
		}
		if errWhole != nil {
			if errWhole.Error() != errBytewise.Error() {
				t.Fatalf("errors differ:\n whole: %v\n bytes: %v", errWhole, errBytewise)
			}
			return
		}
		if !reflect.DeepEqual(whole, bytewise) {
			t.Fatalf("reports differ between whole and byte-wise reads")
		}
		if _, err := json.Marshal(whole); err != nil {
			t.Fatalf("report does not marshal: %v", err)
		}
		if !sort.SliceIsSorted(whole.Replacements, func(i, j int) bool {
			return whole.Replacements[i].Resource < whole.Replacements[j].Resource
		}) {
			t.Fatalf("replacements not sorted")
		}
		for _, r := range whole.Replacements {
			if r.Paths == nil || !sort.StringsAreSorted(r.Paths) || len(r.Changes) != len(r.Paths) {
				t.Fatalf("bad paths for %s: %v", r.Resource, r.Paths)
			}
		}
	})
}
