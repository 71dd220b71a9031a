package analyzer

import "testing"

func TestPathString(t *testing.T) {
	tests := []struct {
		name string
		path Path
		want string
	}{
		{"single attribute", Path{"env"}, "env"},
		{"nested block", Path{"metadata", 0, "name"}, "metadata[0].name"},
		{"map key with dots and slash", Path{"labels", "app.kubernetes.io/name"}, `labels["app.kubernetes.io/name"]`},
		{"identifier map key", Path{"triggers_replace", "owner"}, "triggers_replace.owner"},
		{"key with dash is an identifier", Path{"tags", "cost-center"}, "tags.cost-center"},
		{"key starting with digit", Path{"tags", "1abc"}, `tags["1abc"]`},
		{"key with space", Path{"tags", "a b"}, `tags["a b"]`},
		{"key with quote and backslash", Path{"m", `q"u\o`}, `m["q\"u\\o"]`},
		{"empty key", Path{"m", ""}, `m[""]`},
		{"key with HTML characters stays readable", Path{"m", "<a&b>"}, `m["<a&b>"]`},
		{"key with template sequence is escaped for HCL", Path{"m", "${x}"}, `m["$${x}"]`},
		{"unicode key", Path{"labels", "größe"}, `labels["größe"]`},
		{"index then index", Path{"rules", 2, 0}, "rules[2][0]"},
		{"deep", Path{"spec", 0, "template", 0, "metadata", 0, "labels", "app"}, "spec[0].template[0].metadata[0].labels.app"},
		{"first step not an identifier", Path{"my key"}, `["my key"]`},
		{"empty path", Path{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.path.String(); got != tt.want {
				t.Errorf("Path%v.String() = %s, want %s", []any(tt.path), got, tt.want)
			}
		})
	}
}

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"coder_*", "coder_agent", true},
		{"coder_*", "docker_container", false},
		{"*", "", true},
		{"docker_container.main[?]", "docker_container.main[0]", true},
		{`module.ws["a"].*`, `module.ws["a"].terraform_data.x`, true},
		{`module.ws["a"].*`, `module.ws["b"].terraform_data.x`, false},
		{"*.main*", "docker_container.main[3]", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.s, func(t *testing.T) {
			if got := MatchGlob(tt.pattern, tt.s); got != tt.want {
				t.Errorf("MatchGlob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
			}
		})
	}
}
