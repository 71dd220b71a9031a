package reconcile

import (
	"errors"
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
	for _, s := range []string{"* * * * *", "*/5 8-17 * * 1-5", "0 0 1,15 * 0", "1-5/2 * * * 7"} {
		f.Add(s)
	}
	at := time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := ParseCron(expr)
		if err != nil {
			return
		}
		_ = c.Matches(at)
		if star, _ := ParseCron("* * * * *"); !star.Matches(at) {
			t.Fatal("* * * * * must match")
		}
	})
}
