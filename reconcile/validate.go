package reconcile

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits every write path checks (store, CLI, plan imports).
const (
	// MaxInstances is the largest pool size a preset or schedule may ask
	// for. One pass plans at most this many creates per preset.
	MaxInstances = 10000
	// MaxNameLen is the longest template, organization, version, preset or
	// user name accepted, in bytes.
	MaxNameLen = 256
	// MaxSchedules bounds the schedules of one preset.
	MaxSchedules = 100
	// MaxParameters bounds the parameters of one preset; MaxParamLen the
	// length of a parameter name or value, in bytes.
	MaxParameters = 1000
	MaxParamLen   = 64 << 10
	// MaxTTL is the longest prebuild TTL (ten years).
	MaxTTL = 10 * 365 * 24 * time.Hour
)

// ErrInvalid is wrapped by every validation error: a value the store must
// not record. Callers map it to a usage error (exit 1).
var ErrInvalid = errors.New("invalid")

// FieldError names the field a validation failed on.
type FieldError struct {
	// Field is the field's name as a user writes it ("instances", "ttl",
	// "schedules[1].cron", "name").
	Field string
	// Msg says what is wrong, with the offending value quoted.
	Msg string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ValidateName checks a name: not empty, at most MaxNameLen bytes of
// valid UTF-8, no control characters (newlines, escape codes). field names
// it in the error.
func ValidateName(field, s string) error {
	if s == "" {
		return fieldErr(field, "must not be empty")
	}
	return validateText(field, s, MaxNameLen)
}

// ValidateOptionalName is ValidateName for names that may be empty (an
// organization).
func ValidateOptionalName(field, s string) error {
	if s == "" {
		return nil
	}
	return validateText(field, s, MaxNameLen)
}

func validateText(field, s string, max int) error {
	if len(s) > max {
		return fieldErr(field, "%d bytes long, at most %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return fieldErr(field, "%s is not valid UTF-8", QuoteText(s))
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fieldErr(field, "%s holds a control character", QuoteText(s))
		}
	}
	return nil
}

// ValidateInstances checks a pool size: 0..MaxInstances.
func ValidateInstances(field string, n int) error {
	if n < 0 || n > MaxInstances {
		return fieldErr(field, "%d: want 0 to %d", n, MaxInstances)
	}
	return nil
}

// ValidateTTL checks a prebuild TTL: 0 (never expires) or whole seconds
// from 1s to MaxTTL. A sub-second TTL is refused rather than stored as 0.
func ValidateTTL(field string, d time.Duration) error {
	switch {
	case d == 0:
		return nil
	case d < 0:
		return fieldErr(field, "%s: must not be negative", d)
	case d < time.Second:
		return fieldErr(field, "%s: want 0 (never) or at least 1s", d)
	case d%time.Second != 0:
		return fieldErr(field, "%s: want whole seconds", d)
	case d > MaxTTL:
		return fieldErr(field, "%s: at most %s", d, MaxTTL)
	}
	return nil
}

// ValidateTimezone checks an IANA timezone name ("" is UTC).
func ValidateTimezone(field, tz string) error {
	if tz == "" {
		return nil
	}
	if err := validateText(field, tz, MaxNameLen); err != nil {
		return err
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return fieldErr(field, "%s is not a known IANA timezone", QuoteText(tz))
	}
	return nil
}

// ValidateSchedules checks every schedule's cron expression and instances.
func ValidateSchedules(field string, schedules []Schedule) error {
	if len(schedules) > MaxSchedules {
		return fieldErr(field, "%d schedules, at most %d", len(schedules), MaxSchedules)
	}
	for i, sc := range schedules {
		f := fmt.Sprintf("%s[%d]", field, i)
		if _, err := ParseCron(sc.Cron); err != nil {
			return fieldErr(f+".cron", "%v", err)
		}
		if err := ValidateInstances(f+".instances", sc.Instances); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks everything a preset records; the error names the preset
// and the field. The store calls it on every write.
func (spec PresetSpec) Validate() error {
	if err := spec.validate(); err != nil {
		if spec.Name == "" || !utf8.ValidString(spec.Name) {
			return fmt.Errorf("preset %s: %w", QuoteText(spec.Name), err)
		}
		return fmt.Errorf("preset %q: %w", spec.Name, err)
	}
	return nil
}

func (spec PresetSpec) validate() error {
	if err := ValidateName("name", spec.Name); err != nil {
		return err
	}
	if spec.TemplateName != "" {
		if err := ValidateName("template", spec.TemplateName); err != nil {
			return err
		}
	}
	if err := ValidateOptionalName("organization", spec.Organization); err != nil {
		return err
	}
	if err := ValidateInstances("instances", spec.DesiredInstances); err != nil {
		return err
	}
	if err := ValidateTTL("ttl", spec.TTL); err != nil {
		return err
	}
	if err := ValidateTimezone("timezone", spec.Timezone); err != nil {
		return err
	}
	if err := ValidateSchedules("schedules", spec.Schedules); err != nil {
		return err
	}
	if len(spec.Parameters) > MaxParameters {
		return fieldErr("parameters", "%d parameters, at most %d", len(spec.Parameters), MaxParameters)
	}
	for k, v := range spec.Parameters {
		if err := ValidateName("parameters", k); err != nil {
			return err
		}
		if len(v) > MaxParamLen || !utf8.ValidString(v) {
			return fieldErr("parameters["+k+"]", "want valid UTF-8 of at most %d bytes", MaxParamLen)
		}
	}
	return nil
}

// Validate checks a template import: the template's names and every
// preset (the error names the preset and field).
func (in TemplateImport) Validate() error {
	if err := ValidateName("template name", in.Name); err != nil {
		return err
	}
	if err := ValidateOptionalName("organization", in.Organization); err != nil {
		return err
	}
	if err := ValidateOptionalName("version", in.Version); err != nil {
		return err
	}
	seen := make(map[string]bool, len(in.Presets))
	for _, p := range in.Presets {
		if err := p.Validate(); err != nil {
			return err
		}
		if seen[p.Name] {
			return fmt.Errorf("preset %q: %w", p.Name, fieldErr("name", "declared twice"))
		}
		seen[p.Name] = true
	}
	return nil
}

// Validate checks the reconciler's tunables (the flags of `reconcile`,
// `status` and `metrics`).
func (p Policy) Validate() error {
	switch {
	case p.OnReplacement != OnReplacementReport && p.OnReplacement != OnReplacementPause:
		return fieldErr("on-replacement", "%q: want report or pause", string(p.OnReplacement))
	case p.ReplacementThreshold < 1 || p.ReplacementWindow < p.ReplacementThreshold:
		return fieldErr("replacement-threshold", "%d of window %d: want 1 <= threshold <= window", p.ReplacementThreshold, p.ReplacementWindow)
	case p.ReplacementWindow > DefaultHistoryLimit:
		return fieldErr("replacement-window", "%d: at most %d", p.ReplacementWindow, DefaultHistoryLimit)
	case p.HardLimit < 0 || p.HardLimit > DefaultHistoryLimit:
		return fieldErr("failure-limit", "%d: want 0 to %d", p.HardLimit, DefaultHistoryLimit)
	case p.BackoffInterval < 0:
		return fieldErr("backoff", "%s: must not be negative", p.BackoffInterval)
	case p.BackoffLookback < 0:
		return fieldErr("backoff-lookback", "%s: must not be negative", p.BackoffLookback)
	case p.TakeoverGrace < 0:
		return fieldErr("takeover-grace", "%s: must not be negative", p.TakeoverGrace)
	}
	return nil
}

// ValidateDuration checks a duration flag: min <= d <= max (max 0: no
// upper bound); zeroOK also accepts 0 (usually "disabled").
func ValidateDuration(field string, d, min, max time.Duration, zeroOK bool) error {
	if d == 0 && zeroOK {
		return nil
	}
	if d < min || (max > 0 && d > max) {
		if max > 0 {
			return fieldErr(field, "%s: want %s to %s", d, min, max)
		}
		if zeroOK {
			return fieldErr(field, "%s: want 0 or at least %s", d, min)
		}
		return fieldErr(field, "%s: want at least %s", d, min)
	}
	return nil
}

// ValidateCount checks a count flag: min <= n <= max.
func ValidateCount(field string, n, min, max int) error {
	if n < min || n > max {
		return fieldErr(field, "%d: want %d to %d", n, min, max)
	}
	return nil
}

// QuoteText renders a name for a terminal or log: printable text as is,
// anything with control characters, invalid UTF-8 or leading/trailing
// spaces quoted with Go escapes, so that a stored name cannot move the
// cursor, color the terminal or forge a line.
func QuoteText(s string) string {
	if s != "" && utf8.ValidString(s) && strings.TrimSpace(s) == s {
		clean := true
		for _, r := range s {
			if !unicode.IsPrint(r) && r != ' ' {
				clean = false
				break
			}
		}
		if clean {
			return s
		}
	}
	return fmt.Sprintf("%q", s)
}

// SafeLabel returns s as valid UTF-8 (invalid bytes replaced by U+FFFD), as
// Prometheus label values must be.
func SafeLabel(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
