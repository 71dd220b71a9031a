package reconcile

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCron(t *testing.T) {
	mon := time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC) // Monday
	sun := time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC)
	tests := []struct {
		expr string
		at   time.Time
		want bool
	}{
		{"* * * * *", mon, true},
		{"15 9 * * *", mon, true},
		{"16 9 * * *", mon, false},
		{"*/15 * * * *", mon, true},
		{"*/10 * * * *", mon, false},
		{"0-20/5 9 * * *", mon, true},
		{"10/5 * * * *", mon, true},
		{"* 8-17 * * 1-5", mon, true},
		{"* 8-17 * * 1-5", sun, false},
		{"* * * * 0", sun, true},
		{"* * * * 7", sun, true},
		{"* * * * 6,0", sun, true},
		{"* * 1 * *", sun, true},
		{"* * * 3 *", mon, true},
		{"* * * 4 *", mon, false},
		{"* * 15 * 1", mon, true},     // either day field
		{"* * 2 * 5", mon, true},      // day of month matches
		{"* * 15 * 5", mon, false},    // neither
		{"* * */2 * 1", mon, false},   // "*/2" counts as unrestricted: both must match
		{"* * 1-31/2 * 1", mon, true}, // restricted day of month: either matches
	}
	for _, tt := range tests {
		t.Run(tt.expr+"@"+tt.at.Format("Mon15:04"), func(t *testing.T) {
			c, err := ParseCron(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Matches(tt.at); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseCronErrors(t *testing.T) {
	for _, expr := range []string{"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
		"* * * * 8", "5-1 * * * *", "*/0 * * * *", "a * * * *", "1,,2 * * * *", "-1 * * * *", "*/x * * * *"} {
		t.Run(expr, func(t *testing.T) {
			if _, err := ParseCron(expr); !errors.Is(err, ErrBadCron) {
				t.Errorf("ParseCron(%q) error = %v, want ErrBadCron", expr, err)
			}
		})
	}
}

func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"* * * * *", "*/5 8-17 * * 1-5", "0 0 1,15 * 0", "1-5/2 * * * 7", "60 * * * *", "* * * *"} {
		f.Add(s)
	}
	at := time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := ParseCron(expr)
		fields := strings.Fields(expr)
		if err != nil {
			if !errors.Is(err, ErrBadCron) {
				t.Fatalf("ParseCron(%q) error %v does not wrap ErrBadCron", expr, err)
			}
			return
		}
		if len(fields) != 5 {
			t.Fatalf("ParseCron(%q) accepted %d fields", expr, len(fields))
		}
		// Every field is a non-empty set inside its range; a plain number
		// is exactly that value.
		sets := [5]uint64{c.minute, c.hour, c.dom, c.month, c.dow}
		for i, set := range sets {
			f := cronFields[i]
			inRange := uint64(1)<<uint(f.max+1) - uint64(1)<<uint(f.min)
			if set == 0 || set&^inRange != 0 {
				t.Fatalf("ParseCron(%q): %s set %b outside %d-%d or empty", expr, f.name, set, f.min, f.max)
			}
			if n, err := strconv.Atoi(fields[i]); err == nil && strconv.Itoa(n) == fields[i] {
				want := uint64(1) << uint(n)
				if i == 4 && n == 7 {
					want |= 1
				}
				if set != want {
					t.Fatalf("ParseCron(%q): %s %d parsed as %b", expr, f.name, n, set)
				}
			}
		}
		// The normalized form (single spaces) parses to the same thing.
		if again, err := ParseCron(strings.Join(fields, " ")); err != nil || again != c {
			t.Fatalf("ParseCron(%q) = %+v, normalized = %+v, %v", expr, c, again, err)
		}
		// Matches agrees with the sets for the minute and hour fields.
		got := c.Matches(at)
		if c.minute&(1<<uint(at.Minute())) == 0 || c.hour&(1<<uint(at.Hour())) == 0 {
			if got {
				t.Fatalf("ParseCron(%q) matches %s outside its minute/hour sets", expr, at)
			}
		}
	})
}
