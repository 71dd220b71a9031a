package notify

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrRecipientNotFound is returned when a message names a recipient that
// is not (or no longer) stored.
var ErrRecipientNotFound = errors.New("recipient not found")

// ErrNoTransport is returned when a dispatcher has no transport for a
// recipient (email without an SMTP server, a stored recipient given to the
// log transport). The dispatcher gives such a message back untried, for a
// dispatcher configured for it.
var ErrNoTransport = errors.New("no transport configured")

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e retryAfterError) Error() string { return e.err.Error() }
func (e retryAfterError) Unwrap() error { return e.err }

// RetryAfter marks a retryable delivery error whose receiver asked to be
// tried again after d (HTTP 429 with Retry-After). The dispatcher waits d
// instead of its backoff.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return retryAfterError{err: err, after: max(d, 0)}
}

// RetryAfterOf returns the delay err asks for, if it was marked with
// RetryAfter.
func RetryAfterOf(err error) (time.Duration, bool) {
	var r retryAfterError
	if errors.As(err, &r) {
		return r.after, true
	}
	return 0, false
}

// ParseRetryAfter reads an HTTP Retry-After value: delay seconds or an
// HTTP date (relative to now). ok is false when v is empty or malformed.
// Negative and past values give 0.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, true
		}
		// Cap absurd values (more than a year) to keep time arithmetic sane.
		const maxSeconds = 366 * 24 * 3600
		return time.Duration(min(n, maxSeconds)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		return 0, true
	}
	return d.Truncate(time.Second), true
}
