package notify

import (
	"errors"
	"strings"
	"testing"
)

func TestLinkTemplate(t *testing.T) {
	n := sample()
	n.Workspace = "alice dev/1"
	tests := []struct {
		name, tmpl, want string
		wantErr          bool
	}{
		{"workspace build", "https://coder.example.com/@{claimant}/{workspace}/builds/{build_id}", "https://coder.example.com/@alice/alice%20dev%2F1/builds/55555555-5555-5555-5555-555555555555", false},
		{"template", "https://coder.example.com/templates/{organization}/{template}/versions/{template_version}", "https://coder.example.com/templates/acme/docker-dev/versions/v3", false},
		{"no placeholders", "https://x.example/", "https://x.example/", false},
		{"empty", "", "", false},
		{"unknown placeholder", "https://x.example/{password}", "", true},
		{"unclosed", "https://x.example/{workspace", "", true},
		{"stray brace", "https://x.example/}", "", true},
		{"not http", "javascript:alert(1)", "", true},
		{"no host", "https:///{workspace}", "", true},
		{"scheme in capitals", "HTTPS://x.example/{workspace}", "https://x.example/alice%20dev%2F1", false},
		{"placeholder in the scheme", "ht{workspace}tp://x.example/", "", true},
		{"scheme only a placeholder", "{workspace}://x.example/", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lt, err := ParseLinkTemplate(tt.tmpl)
			if tt.wantErr {
				if !errors.Is(err, ErrBadLinkTemplate) {
					t.Fatalf("ParseLinkTemplate = %v, want ErrBadLinkTemplate", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := lt.Expand(n); got != tt.want {
				t.Fatalf("Expand = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLinkRendered(t *testing.T) {
	n := sample()
	n.Link = "https://coder.example.com/@alice/alice-dev"
	if !strings.Contains(n.Text(), "Link:         https://coder.example.com/@alice/alice-dev\n") {
		t.Errorf("text:\n%s", n.Text())
	}
	if !strings.Contains(n.Markdown(), "| Link | <https://coder.example.com/@alice/alice-dev> |") {
		t.Errorf("markdown:\n%s", n.Markdown())
	}
	if !strings.Contains(n.Slack().Blocks[1].Text.Text, "*Link:* <https://coder.example.com/@alice/alice-dev|open>") {
		t.Errorf("slack:\n%s", n.Slack().Blocks[1].Text.Text)
	}
	if strings.Contains(sample().Text(), "Link") {
		t.Error("a notification without a link shows one")
	}
}

func FuzzParseLinkTemplate(f *testing.F) {
	for _, s := range []string{"https://x.example/{workspace}", "{", "}", "https://x/{a}{b}", "", "hTtp://0", "ht{workspace}tp://x/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lt, err := ParseLinkTemplate(s)
		if err != nil {
			return
		}
		got := lt.Expand(sample())
		if s != "" && !strings.HasPrefix(got, "http://") && !strings.HasPrefix(got, "https://") {
			t.Fatalf("accepted %q expands to %q", s, got)
		}
	})
}
