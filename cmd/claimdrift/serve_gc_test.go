package main

import (
	"runtime/debug"
	"testing"

	"github.com/claimdrift/claimdrift/reconcile/api"
)

// TestTuneGC: serve raises the collector's target unless GOGC chose one.
func TestTuneGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	cases := []struct {
		name, gogc, want string
		percent          int
	}{
		{"unset", "", "400", api.GCPercent},
		{"set by the operator", "50", "50", 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			got := tuneGC(func(k string) string {
				if k == "GOGC" {
					return c.gogc
				}
				return ""
			})
			if percent := debug.SetGCPercent(100); got != c.want || percent != c.percent {
				t.Fatalf("tuneGC = %q with the collector at %d, want %q at %d", got, percent, c.want, c.percent)
			}
		})
	}
}
