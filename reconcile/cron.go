package reconcile

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrBadCron is wrapped by ParseCron for any malformed expression.
var ErrBadCron = errors.New("bad cron expression")

// Cron is a parsed five-field cron expression (minute hour day-of-month
// month day-of-week). It only answers "does this minute match", which is
// all a preset schedule needs, so it is a few bit sets rather than a
// scheduling library. Fields accept `*`, `N`, `N-M`, steps (`*/S`,
// `N-M/S`, `N/S`) and comma lists; day-of-week 0 and 7 are Sunday. As in
// Vixie cron, when both day fields are restricted a day matches if either
// does; a day field starting with `*` (even `*/2`) counts as unrestricted.
type Cron struct {
	minute, hour, dom, month, dow uint64
	domStar, dowStar              bool
}

type cronField struct {
	name     string
	min, max int
}

var cronFields = [5]cronField{
	{"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31}, {"month", 1, 12}, {"day of week", 0, 7},
}

// ParseCron parses a five-field cron expression.
func ParseCron(expr string) (Cron, error) {
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return Cron{}, fmt.Errorf("%w %q: want 5 fields, got %d", ErrBadCron, expr, len(fields))
	}
	var sets [5]uint64
	for i, f := range fields {
		set, err := parseCronField(f, cronFields[i])
		if err != nil {
			return Cron{}, fmt.Errorf("%w %q: %s: %v", ErrBadCron, expr, cronFields[i].name, err)
		}
		sets[i] = set
	}
	dow := sets[4]
	if dow&(1<<7) != 0 {
		dow |= 1 // 7 is Sunday too
	}
	return Cron{
		minute: sets[0], hour: sets[1], dom: sets[2], month: sets[3], dow: dow,
		domStar: strings.HasPrefix(fields[2], "*"),
		dowStar: strings.HasPrefix(fields[4], "*"),
	}, nil
}

func parseCronField(s string, f cronField) (uint64, error) {
	var set uint64
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			return 0, errors.New("empty list item")
		}
		rng, stepStr, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n < 1 || n > f.max {
				return 0, fmt.Errorf("bad step %q", stepStr)
			}
			step = n
		}
		lo, hi := f.min, f.max
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if lo, err = cronNumber(a, f); err != nil {
				return 0, err
			}
			if hi, err = cronNumber(b, f); err != nil {
				return 0, err
			}
			if lo > hi {
				return 0, fmt.Errorf("range %q runs backwards", rng)
			}
		default:
			n, err := cronNumber(rng, f)
			if err != nil {
				return 0, err
			}
			lo = n
			if !hasStep {
				hi = n
			}
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << uint(v)
		}
	}
	return set, nil
}

func cronNumber(s string, f cronField) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < f.min || n > f.max {
		return 0, fmt.Errorf("%q is not a number in %d-%d", s, f.min, f.max)
	}
	return n, nil
}

// Matches reports whether the minute containing t matches, in t's location.
func (c Cron) Matches(t time.Time) bool {
	if c.minute&(1<<uint(t.Minute())) == 0 || c.hour&(1<<uint(t.Hour())) == 0 ||
		c.month&(1<<uint(t.Month())) == 0 {
		return false
	}
	domOK := c.dom&(1<<uint(t.Day())) != 0
	dowOK := c.dow&(1<<uint(t.Weekday())) != 0
	if c.domStar || c.dowStar {
		return domOK && dowOK
	}
	return domOK || dowOK
}
