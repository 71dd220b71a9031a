package analyzer

import (
	"bytes"
	"testing"
)

func TestStringStop(t *testing.T) {
	for n := 0; n < 40; n++ {
		for _, c := range []byte{'"', '\\'} {
			b := bytes.Repeat([]byte{'a'}, n)
			b = append(b, c, '"', 'x')
			if got := stringStop(b); got != n {
				t.Fatalf("len %d stop %q: got %d", n, c, got)
			}
		}
		// Bytes that differ from '"' and '\\' in one bit, and high bytes.
		b := bytes.Repeat([]byte{'#', '\\' ^ 1, 0xa2, 0xdc, '"' ^ 0x80}, n)
		if got := stringStop(b); got != -1 {
			t.Fatalf("no stop byte in %q: got %d", b, got)
		}
	}
}
