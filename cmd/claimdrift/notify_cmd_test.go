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
