package analyzer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// chunkReader returns at most n bytes per Read, like a pipe fed slowly.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

// longNumberPlan is a real plan with a number of digits digits in a member
// the parser skips.
func longNumberPlan(t testing.TB, digits int) []byte {
	t.Helper()
	plan, err := os.ReadFile("../testdata/plans/claim.json")
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.IndexByte(plan, '{')
	var b bytes.Buffer
	b.Write(plan[:i+1])
	b.WriteString(`"x_long":1`)
	b.WriteString(strings.Repeat("7", digits))
	b.WriteString(`e5,"x_lit":true,`)
	b.Write(plan[i+1:])
	return b.Bytes()
}

// TestLongNumberFromPipeIsLinear: a 4 MB number read 64 bytes at a time
// used to be rescanned from its start after every read (65,536 reads of
// up to 4 MB: minutes); it is now looked at once. The limit below is
// hundreds of times what the linear scan needs, so a slow machine does
// not fail it, and far below what the quadratic scan took.
func TestLongNumberFromPipeIsLinear(t *testing.T) {
	doc := longNumberPlan(t, 4<<20)
	want, err := Analyze(bytes.NewReader(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		got, err := Analyze(&chunkReader{r: bytes.NewReader(doc), n: 64}, Options{})
		if err == nil && len(got.Replacements) != len(want.Replacements) {
			err = io.ErrUnexpectedEOF
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("a 4 MB number read 64 bytes at a time took over two minutes")
	}
}

// BenchmarkLongNumberFromPipe measures the scan of a 20 MB number read 4 KiB at a time.
func BenchmarkLongNumberFromPipe(b *testing.B) {
	doc := longNumberPlan(b, 20<<20)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := Analyze(&chunkReader{r: bytes.NewReader(doc), n: 4096}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTruncatedScalars(t *testing.T) {
	for _, doc := range []string{`{"x":tru`, `{"x":12`, `{"x":-`, `{"x":nul`} {
		_, err := Analyze(&chunkReader{r: strings.NewReader(doc), n: 1}, Options{})
		if err == nil {
			t.Errorf("%s: no error", doc)
		}
	}
}

// TestInvalidJSONInSkippedSections: sections the parser skips (kept for
// nothing) are still checked against the JSON grammar, as the package
// promises: malformed JSON is a *SyntaxError wrapping ErrNotJSON, wherever
// it is.
func TestInvalidJSONInSkippedSections(t *testing.T) {
	plan, err := os.ReadFile("../testdata/plans/claim.json")
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.IndexByte(plan, '{')
	bad := map[string]string{
		"missing colon":         `{"a" 1}`,
		"missing comma":         `[1 2]`,
		"members without comma": `{"a":1 "b":2}`,
		"trailing comma":        `{"a":1,}`,
		"trailing comma array":  `[1,]`,
		"leading zero":          `[01]`,
		"bad literal":           `{"a":tru}`,
		"bad literal 2":         `[nulll]`,
		"number key":            `{1:2}`,
		"bad escape":            `["\x"]`,
		"bad unicode escape":    `["\u12G4"]`,
		"raw control character": "[\"a\tb\"]",
		"lone minus":            `[-]`,
		"double dot":            `[1.2.3]`,
		"empty exponent":        `[1e]`,
		"colon in array":        `[1:2]`,
		"value after value":     `{"a":"b" "c"}`,
		"mismatched":            `{"a":[1}`,
	}
	for name, section := range bad {
		t.Run(name, func(t *testing.T) {
			var doc bytes.Buffer
			doc.Write(plan[:i+1])
			doc.WriteString(`"x_skipped":` + section + `,`)
			doc.Write(plan[i+1:])
			for _, chunk := range []int{1, 7, 1 << 20} {
				_, err := Analyze(&chunkReader{r: bytes.NewReader(doc.Bytes()), n: chunk}, Options{})
				var se *SyntaxError
				if !errors.As(err, &se) || !errors.Is(err, ErrNotJSON) {
					t.Fatalf("chunk %d: err = %v, want a *SyntaxError wrapping ErrNotJSON", chunk, err)
				}
			}
		})
	}
	// Valid JSON of every shape still passes.
	good := `{"a":[1,-0.5e+3,"x\"\\\/\b\f\n\r\t\u00e9",true,false,null,{},[],{"b":{"c":[[]]}}],"d":0}`
	var doc bytes.Buffer
	doc.Write(plan[:i+1])
	doc.WriteString(`"x_skipped":` + good + `,`)
	doc.Write(plan[i+1:])
	for _, chunk := range []int{1, 7, 1 << 20} {
		if _, err := Analyze(&chunkReader{r: bytes.NewReader(doc.Bytes()), n: chunk}, Options{}); err != nil {
			t.Fatalf("chunk %d: valid section refused: %v", chunk, err)
		}
	}
}

// FuzzSkipValue checks the streaming skipper against encoding/json: what
// it accepts is valid JSON, and every valid JSON value is accepted whole,
// whatever the read sizes.
func FuzzSkipValue(f *testing.F) {
	for _, s := range []string{`{"a":[1,-0.5e+3,"x\"\u00e9",true,null,{}]}`, `[1 2]`, `{"a" 1}`, `[01]`, `"\x"`, `[1,]`, "[\"a\tb\"]", `1e5`, `tru`} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		s := newScanner(&chunkReader{r: bytes.NewReader(data), n: int(chunk%64) + 1})
		err := s.skipValue()
		consumed := s.base + int64(s.pos)
		if err == nil {
			if !json.Valid(data[:consumed]) {
				t.Fatalf("skipper accepted invalid JSON %q", data[:consumed])
			}
			return
		}
		if json.Valid(data) && bytes.Count(data, []byte("["))+bytes.Count(data, []byte("{")) < maxDepth {
			t.Fatalf("skipper refused valid JSON %q: %v", data, err)
		}
	})
}

// TestConcurrentAnalysesShareNoBuffer analyzes several plans at once, over
// and over, through small reads (so that values move inside the pooled
// buffers): every report must equal the one the plan gave alone. A report
// that kept a slice of a scanner's buffer would change once the buffer
// went back to the pool and served another plan.
func TestConcurrentAnalysesShareNoBuffer(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "plans", "*.json*"))
	if err != nil || len(files) < 4 {
		t.Fatalf("plans: %v (%d)", err, len(files))
	}
	want := map[string]string{}
	for _, f := range files {
		want[f] = analyzeJSON(t, f)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(files)*8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				f := files[(g+i)%len(files)]
				if got := analyzeJSON(t, f); got != want[f] {
					errs <- fmt.Errorf("%s: report changed when analyzed beside others", f)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func analyzeJSON(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
		return ""
	}
	rep, err := Analyze(iotest.HalfReader(bytes.NewReader(b)), Options{})
	if err != nil {
		return "error: " + err.Error()
	}
	out, err := json.Marshal(rep)
	if err != nil {
		t.Error(err)
	}
	return string(out)
}
