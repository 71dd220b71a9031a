package analyzer

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// DefaultMaxValueLen is the length (in characters) past which before and
// after values are shortened when Options.MaxValueLen is zero.
const DefaultMaxValueLen = 1024

// Options tune Analyze.
type Options struct {
	// Ignore drops replacements whose resource type or address matches one
	// of these globs (see MatchGlob). Ignored replacements are counted in
	// Report.Ignored; the summary still counts them.
	Ignore []string
	// ClaimRefs are extra globs of references that differ per claimant
	// (e.g. "var.owner"), besides DefaultClaimRefs.
	ClaimRefs []string
	// StatefulTypes are extra globs of resource types that hold data,
	// besides DefaultStatefulTypes.
	StatefulTypes []string
	// MaxValueLen shortens rendered before/after values longer than this
	// many characters; 0 means DefaultMaxValueLen, negative means never.
	MaxValueLen int
}

func (o Options) maxLen() int {
	if o.MaxValueLen == 0 {
		return DefaultMaxValueLen
	}
	return o.MaxValueLen
}

// Analyze reads a plan from r, a `terraform show -json` document or a
// `terraform plan -json` stream (told apart by content), and returns its
// Report. It reads r once, holding at most one resource change in memory.
//
// Errors wrap ErrEmpty, ErrNotJSON, ErrNotPlan, ErrStateDocument,
// ErrUnsupportedFormat, ErrBinaryPlan or ErrInvalid; malformed input gives a
// *SyntaxError with its position.
func Analyze(r io.Reader, opts Options) (*Report, error) {
	s := newScanner(r)
	defer s.release()
	c, ok := s.skipSpace()
	if !ok {
		if s.rerr != nil {
			return nil, fmt.Errorf("read plan: %w", s.rerr)
		}
		return nil, ErrEmpty
	}
	s.ensure(4)
	if bytes.HasPrefix(s.buf[s.pos:s.end], []byte("PK\x03\x04")) {
		return nil, ErrBinaryPlan
	}
	if c != '{' {
		var err error
		if c, err = skipWrapperPrefix(s); err != nil {
			return nil, err
		}
	}
	if c == '[' {
		return nil, fmt.Errorf("%w: the input is a JSON array; expected a plan object from `terraform show -json PLANFILE`", ErrNotPlan)
	}
	if c != '{' {
		return nil, notJSON(s)
	}
	a := newAssembler(opts)
	var err error
	if firstKeyIsStreamKey(s) {
		err = parseStream(s, a)
	} else {
		err = parseDocument(s, a)
	}
	if err != nil {
		return nil, err
	}
	return a.report(), nil
}

// skipWrapperPrefix skips lines that CI wrappers print before the JSON
// (GitHub's setup-terraform wrapper prints "[command]…", workflow commands
// start with "::"), returning the first byte after them.
func skipWrapperPrefix(s *scanner) (byte, error) {
	for {
		c, ok := s.skipSpace()
		if !ok {
			return 0, ErrEmpty
		}
		s.ensure(64)
		rest := s.buf[s.pos:s.end]
		if c == '{' || (c == '[' && !bytes.HasPrefix(rest, []byte("[command]"))) {
			return c, nil
		}
		if !(bytes.HasPrefix(rest, []byte("[command]")) || bytes.HasPrefix(rest, []byte("::"))) {
			return c, nil
		}
		skipLine(s)
	}
}

// skipLine consumes input up to and including the next newline, or to the
// end of the input.
func skipLine(s *scanner) {
	for {
		if i := bytes.IndexByte(s.buf[s.pos:s.end], '\n'); i >= 0 {
			s.pos += i + 1
			return
		}
		s.pos = s.end
		if !s.fill() {
			return
		}
	}
}

// notJSON explains input that does not start like JSON, recognising the
// common mistakes.
func notJSON(s *scanner) error {
	s.ensure(512)
	head := s.buf[s.pos:s.end]
	line, col, off := s.position(s.pos)
	text := string(head)
	switch {
	case strings.Contains(text, "Terraform will perform") ||
		strings.Contains(text, "Terraform used the selected providers") ||
		strings.Contains(text, "No changes.") ||
		strings.Contains(text, "OpenTofu will perform"):
		return fmt.Errorf("%w: this is the human-readable output of `terraform plan`; give claimdrift `terraform show -json PLANFILE` or `terraform plan -json` instead", ErrNotJSON)
	case bytes.Contains(head, []byte("terraform-bin")):
		return fmt.Errorf("%w: the input holds output of GitHub's setup-terraform wrapper; set `terraform_wrapper: false` on hashicorp/setup-terraform", ErrNotJSON)
	}
	return fmt.Errorf("%w: invalid character %s at line %d, column %d (byte %d); expected a plan from `terraform show -json PLANFILE`",
		ErrNotJSON, quoteChar(s.buf[s.pos]), line, col, off)
}

// firstKeyIsStreamKey peeks at the first key of the object at s.pos: the
// messages of `terraform plan -json` start with "@level" (all their
// envelope keys start with '@'), plan documents with "format_version".
func firstKeyIsStreamKey(s *scanner) bool {
	s.ensure(64)
	b := s.buf[s.pos:s.end]
	i := skipSpace(b, 1)
	return i+1 < len(b) && b[i] == '"' && b[i+1] == '@'
}

// parseDocument walks a `terraform show -json` plan document.
func parseDocument(s *scanner, a *assembler) error {
	a.rep.Input = InputPlanJSON
	where := ""
	s.where = func() string { return where }
	s.pos++ // '{'
	var (
		seen          = map[string]bool{}
		formatVersion string
	)
	c, ok := s.skipSpace()
	if !ok {
		return s.eofError("")
	}
	if c == '}' {
		s.pos++
		return fmt.Errorf("%w: the input is an empty JSON object", ErrNotPlan)
	}
	for more := true; more; {
		where = ""
		rawKey, err := s.memberKey()
		if err != nil {
			return err
		}
		key := string(rawKey)
		seen[key] = true
		where = key
		switch key {
		case "format_version":
			v, start, err := s.captureValue()
			if err != nil {
				return err
			}
			if formatVersion, err = asString(v); err != nil {
				return s.fromRaw(err, start)
			}
			if err := checkFormatVersion(formatVersion); err != nil {
				return err
			}
			a.rep.PlanFormatVersion = formatVersion
		case "terraform_version":
			v, start, err := s.captureValue()
			if err != nil {
				return err
			}
			if a.rep.TerraformVersion, err = asString(v); err != nil {
				return s.fromRaw(err, start)
			}
		case "errored", "complete":
			v, start, err := s.captureValue()
			if err != nil {
				return err
			}
			b, err := asBool(v)
			if err != nil {
				return s.fromRaw(err, start)
			}
			if key == "errored" {
				a.rep.Errored = b
			} else {
				a.rep.Incomplete = !b
			}
		case "resource_changes", "resource_drift":
			if key == "resource_drift" {
				err := s.eachElement(key, &where, func(v []byte, start int) error {
					return s.fromRaw(a.addDrift(v), start)
				})
				if err != nil {
					return err
				}
				break
			}
			if err := s.eachChange(&where, a); err != nil {
				return err
			}
		case "deferred_changes":
			// Terraform 1.9+: changes postponed to a later plan. They are
			// not part of this apply; count them so none goes unseen.
			if err := s.eachItem(func(int) error {
				a.rep.Summary.Deferred++
				return s.skipValue()
			}); err != nil {
				return err
			}
		case "prior_state":
			if err := walkPriorState(s, a, &where); err != nil {
				return err
			}
		case "configuration":
			v, _, err := s.captureValue()
			if err != nil {
				return err
			}
			// The configuration grows with the template, not with the
			// number of resource instances; keep a copy for attribution.
			a.config = append([]byte(nil), v...)
		default:
			if err := s.skipValue(); err != nil {
				return err
			}
		}
		where = ""
		if more, err = s.nextMember(": the plan object is not closed"); err != nil {
			return err
		}
	}
	if err := checkTrailer(s); err != nil {
		return err
	}
	switch {
	case !seen["format_version"] && seen["values"]:
		return ErrStateDocument
	case seen["values"] && !seen["planned_values"] && !seen["resource_changes"]:
		return ErrStateDocument
	case !seen["format_version"]:
		return fmt.Errorf("%w: no format_version (expected the output of `terraform show -json PLANFILE`)", ErrNotPlan)
	case !seen["planned_values"] && !seen["resource_changes"] && !seen["prior_state"] && !seen["configuration"]:
		return fmt.Errorf("%w: the document has a format_version but none of planned_values, resource_changes, prior_state, configuration", ErrNotPlan)
	}
	return nil
}

// eachElement reads an array value (null is empty) and calls fn with each
// element, captured whole, which must be an object; where is updated to
// name the element for errors.
func (s *scanner) eachElement(key string, where *string, fn func(v []byte, start int) error) error {
	return s.eachItem(func(n int) error {
		*where = key + "[" + strconv.Itoa(n) + "]"
		if c, ok := s.skipSpace(); ok && c != '{' {
			return s.errorAt(s.pos, ErrInvalid, "expected an object, found "+describe(s.buf[s.pos:s.end]))
		}
		v, start, err := s.captureValue()
		if err != nil {
			return err
		}
		return fn(v, start)
	})
}

// checkTrailer accepts whitespace and CI wrapper lines ("::debug::…") after
// the document and rejects anything else.
func checkTrailer(s *scanner) error {
	for {
		c, ok := s.skipSpace()
		if !ok {
			if s.rerr != nil {
				return fmt.Errorf("read plan: %w", s.rerr)
			}
			return nil
		}
		s.ensure(2)
		if c == ':' && s.end-s.pos >= 2 && s.buf[s.pos+1] == ':' {
			skipLine(s)
			continue
		}
		s.where = nil
		return s.errorAt(s.pos, ErrNotJSON, "unexpected data after the end of the plan document")
	}
}

// checkFormatVersion accepts the plan format versions terraform-json reads
// (>= 0.1, < 2.0).
func checkFormatVersion(v string) error {
	major, minor, ok := strings.Cut(v, ".")
	if !ok {
		minor = "0"
	}
	mj, err1 := strconv.Atoi(major)
	_, err2 := strconv.Atoi(strings.SplitN(minor, ".", 2)[0])
	if err1 != nil || err2 != nil || mj < 0 {
		return fmt.Errorf("%w %q: not a version number", ErrUnsupportedFormat, v)
	}
	if mj >= 2 || v == "0" || v == "0.0" {
		return fmt.Errorf("%w %q: claimdrift reads plan format versions 0.1 to 1.x", ErrUnsupportedFormat, v)
	}
	return nil
}

// sortReport puts the report in its deterministic order.
func sortReport(r *Report) {
	sort.SliceStable(r.Replacements, func(i, j int) bool {
		a, b := r.Replacements[i], r.Replacements[j]
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		return a.Deposed < b.Deposed
	})
	sort.SliceStable(r.Drift, func(i, j int) bool { return r.Drift[i].Resource < r.Drift[j].Resource })
}
