package analyzer

import (
	"errors"
	"fmt"
)

// Sentinel errors for what callers branch on. Errors returned by Analyze wrap
// one of these (test with errors.Is) or are a *SyntaxError.
var (
	// ErrEmpty: the input holds nothing but whitespace.
	ErrEmpty = errors.New("empty input: expected the output of `terraform show -json PLANFILE` or `terraform plan -json`")
	// ErrNotJSON: the input is not JSON at all.
	ErrNotJSON = errors.New("input is not JSON")
	// ErrNotPlan: the input is JSON but not a plan document or plan stream.
	ErrNotPlan = errors.New("input is not a Terraform plan")
	// ErrStateDocument: the input is a state document, the output of
	// `terraform show -json` without a plan file.
	ErrStateDocument = errors.New("input is a state document (`terraform show -json` without a plan file), not a plan: run `terraform show -json PLANFILE`")
	// ErrUnsupportedFormat: the plan's format_version is outside 0.x and 1.x.
	ErrUnsupportedFormat = errors.New("unsupported plan format_version")
	// ErrBinaryPlan: the input is a binary plan file written by
	// `terraform plan -out`; it must be shown as JSON first.
	ErrBinaryPlan = errors.New("input is a binary plan file: convert it with `terraform show -json PLANFILE`")
	// ErrInvalid: a field of the plan has the wrong type or shape.
	ErrInvalid = errors.New("invalid plan")
)

// SyntaxError reports malformed JSON or a field of the wrong type, with the
// position in the input where it was found.
type SyntaxError struct {
	// Offset is the byte offset in the input (0-based).
	Offset int64
	// Line and Column are 1-based; Column counts bytes.
	Line, Column int
	// Where names the part of the plan being read, e.g. "resource_changes[41]".
	Where string
	// Msg says what is wrong.
	Msg string
	// Kind is the sentinel the error wraps (ErrNotJSON or ErrInvalid).
	Kind error
}

// Error says what is wrong and where: line, column, byte offset and the
// part of the plan being read.
func (e *SyntaxError) Error() string {
	where := ""
	if e.Where != "" {
		where = " in " + e.Where
	}
	return fmt.Sprintf("%s at line %d, column %d (byte %d)%s", e.Msg, e.Line, e.Column, e.Offset, where)
}

// Unwrap returns the sentinel the error is a kind of.
func (e *SyntaxError) Unwrap() error { return e.Kind }
