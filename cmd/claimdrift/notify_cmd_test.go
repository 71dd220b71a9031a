package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestAdminsAddUsage(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no scope", []string{"--email", "a@example.com"}, "give --template T, --org O or --default"},
		{"no destination", []string{"--org", "acme"}, "give --webhook URL or --email ADDR"},
		{"both destinations", []string{"--org", "acme", "--email", "a@example.com", "--webhook", "https://x.example"}, "not both"},
		{"default with org", []string{"--default", "--org", "acme", "--email", "a@example.com"}, "--default takes no --template or --org"},
		{"secret for email", []string{"--org", "acme", "--email", "a@example.com", "--secret-file", empty}, "apply to --webhook only"},
		{"empty secret file", []string{"--org", "acme", "--webhook", "https://x.example", "--secret-file", empty}, "is empty"},
		{"missing secret file", []string{"--org", "acme", "--webhook", "https://x.example", "--secret-file", filepath.Join(dir, "nope")}, "read secret file"},
		{"bad payload", []string{"--org", "acme", "--webhook", "https://x.example", "--payload", "xml"}, "want generic or slack"},
		{"not http", []string{"--org", "acme", "--webhook", "file:///etc/passwd"}, "want an http:// or https:// URL"},
		{"bad email", []string{"--org", "acme", "--email", "Ops <ops@example.com>"}, "want a bare address"},
		{"unknown template", []string{"--template", "nope", "--email", "a@example.com"}, `template "nope": not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", nil, append([]string{"--db", db, "admins", "add"}, tt.args...)...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q, want 1 and %q", r.code, r.stderr, tt.want)
			}
		})
	}
}

func TestResolveID(t *testing.T) {
	a := uuid.MustParse("1ecf9cd4-3302-4147-91f1-928690a9ba50")
	b := uuid.MustParse("1ecf0000-3302-4147-91f1-928690a9ba50")
	ids := []uuid.UUID{a, b}
	tests := []struct {
		arg     string
		want    uuid.UUID
		wantErr string
	}{
		{"1ecf9cd4", a, ""},
		{a.String(), a, ""},
		{"1ECF0", b, ""},
		{"1ecf", uuid.Nil, "ambiguous"},
		{"ffff", uuid.Nil, "no recipient with id"},
		{"1e", uuid.Nil, "at least 4 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			got, err := resolveID(tt.arg, "recipient", ids)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("resolveID = %v, %v, want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("resolveID = %v, %v, want %v", got, err, tt.want)
			}
		})
	}
}

// TestDispatchSaysWhenItRaisesTheLease checks that a --lease shorter than
// twice --send-timeout, which the dispatcher raises, is said on stderr,
// and that a long enough one is not.
func TestDispatchSaysWhenItRaisesTheLease(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	tests := []struct {
		name string
		args []string
		warn bool
	}{
		{"lease shorter than twice the send timeout", []string{"--lease", "10s", "--send-timeout", "15s"}, true},
		{"default lease, long send timeout", []string{"--send-timeout", "45s"}, true},
		{"defaults", nil, false},
		{"lease exactly twice", []string{"--lease", "30s", "--send-timeout", "15s"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", nil, append([]string{"--db", db, "notify", "dispatch", "--once"}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if got := strings.Contains(r.stderr, "shorter than twice --send-timeout"); got != tt.warn {
				t.Fatalf("warned %v, want %v; stderr %q", got, tt.warn, r.stderr)
			}
		})
	}
}
