package analyzer

import (
	"encoding/binary"
	"math/bits"
)

// SWAR ("SIMD within a register") helpers: test eight bytes at a time for
// the bytes that end a run of JSON string content.

const (
	swarLo    = 0x0101010101010101
	swarHi    = 0x8080808080808080
	swarQuote = 0x2222222222222222 // '"'
	swarSlash = 0x5c5c5c5c5c5c5c5c // '\\'
)

// hasZeroByte sets the high bit of each byte of x that is zero (and may
// set it in higher bytes after one, which only matters past the first).
func hasZeroByte(x uint64) uint64 { return (x - swarLo) &^ x & swarHi }

// stringStop returns the index of the first '"' or '\\' in b, or -1.
func stringStop(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		m := hasZeroByte(x^swarQuote) | hasZeroByte(x^swarSlash)
		if m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' {
			return i
		}
	}
	return -1
}

// stringStopCtl returns the index of the first '"', '\\' or control byte
// (below 0x20, not allowed raw in a JSON string) in b, or -1.
func stringStopCtl(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// (x - 0x20 in each byte) &^ x has the high bit set in the bytes
		// below 0x20 (exact for the first such byte).
		m := hasZeroByte(x^swarQuote) | hasZeroByte(x^swarSlash) | ((x - 0x20*swarLo) &^ x & swarHi)
		if m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return -1
}
