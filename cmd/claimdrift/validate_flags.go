package main

import (
	"fmt"
	"time"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/reconcile"
)

// validateGlobs checks every pattern of a glob flag (--ignore and
// --claim-ref of analyze).
func validateGlobs(flag string, patterns []string) error {
	for _, p := range patterns {
		if err := analyzer.ValidateGlob(p); err != nil {
			return usageError{fmt.Errorf("%s: %w", flag, err)}
		}
	}
	return nil
}

// durationFlag is one duration flag and its accepted range.
type durationFlag struct {
	name     string
	value    time.Duration
	min, max time.Duration // max 0: no upper bound
	zeroOK   bool          // 0 means "disabled"
}

// validateDurations checks duration flags against their ranges.
func validateDurations(flags ...durationFlag) error {
	for _, f := range flags {
		if err := reconcile.ValidateDuration("--"+f.name, f.value, f.min, f.max, f.zeroOK); err != nil {
			return usageError{err}
		}
	}
	return nil
}

// countFlag is one integer flag and its accepted range.
type countFlag struct {
	name     string
	value    int
	min, max int
}

// validateCounts checks integer flags against their ranges.
func validateCounts(flags ...countFlag) error {
	for _, f := range flags {
		if err := reconcile.ValidateCount("--"+f.name, f.value, f.min, f.max); err != nil {
			return usageError{err}
		}
	}
	return nil
}
