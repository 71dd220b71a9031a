package reconcile

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseSchedule parses a schedule written as 'CRON=N' (the form of the
// `preset add --schedule` flag): N prebuilds while the five-field cron
// expression CRON matches. The last '=' separates the two.
func ParseSchedule(s string) (Schedule, error) {
	i := strings.LastIndex(s, "=")
	if i < 0 {
		return Schedule{}, fmt.Errorf("schedule %q: want 'CRON=N'", s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(s[i+1:]))
	if err != nil || n < 0 {
		return Schedule{}, fmt.Errorf("schedule %q: instances %q is not a number >= 0", s, strings.TrimSpace(s[i+1:]))
	}
	cron := strings.Join(strings.Fields(s[:i]), " ")
	if _, err := ParseCron(cron); err != nil {
		return Schedule{}, fmt.Errorf("schedule %q: %w", s, err)
	}
	return Schedule{Cron: cron, Instances: n}, nil
}

// String renders the schedule back as 'CRON=N'.
func (s Schedule) String() string { return s.Cron + "=" + strconv.Itoa(s.Instances) }
