package reconcile

import (
	"testing"
)

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		in      string
		want    Schedule
		wantErr bool
	}{
		{in: "* 8-18 * * 1-5=3", want: Schedule{Cron: "* 8-18 * * 1-5", Instances: 3}},
		{in: "  */5   *  * * *  = 0 ", want: Schedule{Cron: "*/5 * * * *", Instances: 0}},
		{in: "* * * * *", wantErr: true},
		{in: "* * * * *=x", wantErr: true},
		{in: "* * * * *=-1", wantErr: true},
		{in: "* * * *=2", wantErr: true},
		{in: "=2", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSchedule(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"* 8-18 * * 1-5=3", "0 0 * * 0=1", "*/5 * * * *= 2", "a=b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSchedule(in)
		if err != nil {
			return
		}
		// What parses renders back to something that parses the same.
		again, err := ParseSchedule(s.String())
		if err != nil || again != s {
			t.Fatalf("round trip of %q: %+v, %v (was %+v)", in, again, err, s)
		}
	})
}
