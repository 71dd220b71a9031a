package analyzer

import (
	"errors"
	"testing"
)

func TestClaimMatcher(t *testing.T) {
	m, err := NewClaimMatcher([]string{"var.owner", "data.external.*.result", "module.*.who"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ref  string
		want bool
	}{
		{"data.coder_workspace_owner.me.name", true},
		{"data.coder_workspace_owner.me.email", true},
		{"data.coder_workspace_owner.me", true},
		{"data.coder_workspace.me.name", true},
		{"data.coder_workspace.me.owner_email", true},
		{"data.coder_workspace.me.is_prebuild_claim", true},
		{"data.coder_workspace.me.prebuild_count", true},
		{"data.coder_workspace.me", true},
		{"data.coder_workspace.me[0].name", true},
		{"data.coder_workspace.me.id", false},
		{"data.coder_workspace.me.transition", false},
		{"data.coder_workspace.me.start_count", false},
		{"data.coder_external_auth.github.access_token", true},
		{"data.coder_external_auth.github.id", false},
		{"var.owner", true},
		{"var.owner.name", true},
		{`var.owner["k"]`, true},
		{"var.owners", false},
		// A glob step may span dots, the same for analyze and lint.
		{"data.external.who.result", true},
		{"data.external.who.result.name", true},
		{"data.external.who", true}, // the whole object holds result
		{"data.external.who.id", false},
		{"module.a.who", true},
		{"module.a.whom", false},
	}
	for _, c := range cases {
		if got := m.Match(c.ref); got != c.want {
			t.Errorf("Match(%s) = %v, want %v", c.ref, got, c.want)
		}
		if got := IsClaimSensitive(c.ref, []string{"var.owner", "data.external.*.result", "module.*.who"}); got != c.want {
			t.Errorf("IsClaimSensitive(%s) = %v, want %v", c.ref, got, c.want)
		}
	}
	for _, src := range []string{"data.coder_workspace.me", "data.coder_workspace_owner.x", "data.external.who"} {
		if !m.Source(src) {
			t.Errorf("Source(%s) = false, want true", src)
		}
	}
	if m.Source("data.cloudinit_config.c") {
		t.Error("Source(data.cloudinit_config.c) = true")
	}
	for _, bad := range []string{"var..x", ".x", "x."} {
		if _, err := NewClaimMatcher([]string{bad}); !errors.Is(err, ErrClaimRef) {
			t.Errorf("NewClaimMatcher(%q) = %v, want ErrClaimRef", bad, err)
		}
	}
}
