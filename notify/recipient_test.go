package notify

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestResolve(t *testing.T) {
	tplID, otherTpl := uuid.New(), uuid.New()
	tpl := Recipient{ID: uuid.New(), Scope: ScopeTemplate, TemplateID: tplID}
	other := Recipient{ID: uuid.New(), Scope: ScopeTemplate, TemplateID: otherTpl}
	org := Recipient{ID: uuid.New(), Scope: ScopeOrganization, Organization: "acme"}
	org2 := Recipient{ID: uuid.New(), Scope: ScopeOrganization, Organization: "acme"}
	elsewhere := Recipient{ID: uuid.New(), Scope: ScopeOrganization, Organization: "globex"}
	def := Recipient{ID: uuid.New(), Scope: ScopeDefault}
	target := RecipientTarget{TemplateID: tplID, Template: "tpl", Organization: "acme"}
	tests := []struct {
		name      string
		all       []Recipient
		want      []Recipient
		wantScope Scope
	}{
		{"template first", []Recipient{def, org, tpl, other}, []Recipient{tpl}, ScopeTemplate},
		{"then the organization, all of its recipients", []Recipient{def, org, other, org2, elsewhere}, []Recipient{org, org2}, ScopeOrganization},
		{"then the default", []Recipient{def, other, elsewhere}, []Recipient{def}, ScopeDefault},
		{"none", []Recipient{other, elsewhere}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, scope := Resolve(tt.all, target)
			if scope != tt.wantScope || len(got) != len(tt.want) {
				t.Fatalf("Resolve = %v %q, want %v %q", got, scope, tt.want, tt.wantScope)
			}
			for i := range got {
				if got[i].ID != tt.want[i].ID {
					t.Errorf("recipient %d = %s, want %s", i, got[i].ID, tt.want[i].ID)
				}
			}
		})
	}
}

type listFunc func() ([]Recipient, error)

func (f listFunc) ListRecipients(context.Context) ([]Recipient, error) { return f() }

func TestResolverWarnsWhenNobodyListens(t *testing.T) {
	target := RecipientTarget{TemplateID: uuid.New(), Template: "tpl", Organization: "acme"}
	tests := []struct {
		name     string
		list     listFunc
		want     string
		wantWarn string
	}{
		{"nobody", func() ([]Recipient, error) { return nil, nil }, "", "level=WARN msg=\"no notification recipients"},
		{"someone", func() ([]Recipient, error) {
			return []Recipient{{ID: uuid.MustParse("11111111-1111-1111-1111-111111111111"), Scope: ScopeDefault}}, nil
		}, "11111111-1111-1111-1111-111111111111", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			keys, err := NewResolver(tt.list, slog.New(slog.NewTextHandler(&buf, nil))).Keys(context.Background(), target)
			if err != nil || len(keys) != 1 || keys[0] != tt.want {
				t.Fatalf("keys = %q (%v), want [%q]", keys, err, tt.want)
			}
			if tt.wantWarn == "" && buf.Len() > 0 {
				t.Errorf("unexpected log: %s", buf.String())
			}
			if !strings.Contains(buf.String(), tt.wantWarn) || (tt.wantWarn != "" && !strings.Contains(buf.String(), "template=tpl")) {
				t.Errorf("log = %q, want %q naming the template", buf.String(), tt.wantWarn)
			}
		})
	}
}

// TestResolverWarnsOncePerTemplateAWhile: a template without recipients
// notifying many times a second warns once, then again after the quiet
// period; another template warns at once.
func TestResolverWarnsOncePerTemplateAWhile(t *testing.T) {
	var buf bytes.Buffer
	r := NewResolver(listFunc(func() ([]Recipient, error) { return nil, nil }), slog.New(slog.NewTextHandler(&buf, nil)))
	now := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	tpl := RecipientTarget{TemplateID: uuid.New(), Template: "tpl", Organization: "acme"}
	other := RecipientTarget{TemplateID: uuid.New(), Template: "other", Organization: "acme"}
	steps := []struct {
		name    string
		advance time.Duration
		target  RecipientTarget
		warns   bool
	}{
		{"first", 0, tpl, true},
		{"a moment later", time.Second, tpl, false},
		{"another template", 0, other, true},
		{"just inside the quiet period", noRecipientWarnEvery - 2*time.Second, tpl, false},
		{"after it", 2 * time.Second, tpl, true},
	}
	for _, st := range steps {
		buf.Reset()
		now = now.Add(st.advance)
		keys, err := r.Keys(context.Background(), st.target)
		if err != nil || len(keys) != 1 || keys[0] != "" {
			t.Fatalf("%s: keys = %q (%v), want the log fallback", st.name, keys, err)
		}
		if warned := strings.Contains(buf.String(), "no notification recipients"); warned != st.warns {
			t.Fatalf("%s: warned = %v, want %v (log %q)", st.name, warned, st.warns, buf.String())
		}
	}
}

// TestResolverRetriesFailedLookup: a store error is retried; one that
// passes yields the real recipients, one that persists is an error (never
// the log fallback, which would lose the notification for good).
func TestResolverRetriesFailedLookup(t *testing.T) {
	target := RecipientTarget{TemplateID: uuid.New(), Template: "tpl", Organization: "acme"}
	someone := Recipient{ID: uuid.MustParse("11111111-1111-1111-1111-111111111111"), Scope: ScopeDefault}
	t.Run("passing error", func(t *testing.T) {
		calls := 0
		keys, err := NewResolver(listFunc(func() ([]Recipient, error) {
			calls++
			if calls < 3 {
				return nil, errors.New("db down")
			}
			return []Recipient{someone}, nil
		}), nil).Keys(context.Background(), target)
		if err != nil || len(keys) != 1 || keys[0] != someone.Key() || calls != 3 {
			t.Fatalf("keys = %q, err = %v after %d lookups; want the recipient after 3", keys, err, calls)
		}
	})
	t.Run("lasting error", func(t *testing.T) {
		calls := 0
		keys, err := NewResolver(listFunc(func() ([]Recipient, error) { calls++; return nil, errors.New("db down") }), nil).Keys(context.Background(), target)
		if !errors.Is(err, ErrRecipientsUnavailable) || keys != nil || calls != 3 {
			t.Fatalf("keys = %q, err = %v after %d lookups; want ErrRecipientsUnavailable after 3", keys, err, calls)
		}
	})
}

func TestRecipientValidate(t *testing.T) {
	tests := []struct {
		name string
		r    Recipient
		ok   bool
	}{
		{"webhook https", Recipient{Scope: ScopeDefault, Channel: ChannelWebhook, Address: "https://x.example/h"}, true},
		{"webhook http slack", Recipient{Scope: ScopeDefault, Channel: ChannelWebhook, Address: "http://127.0.0.1:8080/h", Payload: PayloadSlack}, true},
		{"webhook ftp", Recipient{Scope: ScopeDefault, Channel: ChannelWebhook, Address: "ftp://x.example/h"}, false},
		{"webhook no host", Recipient{Scope: ScopeDefault, Channel: ChannelWebhook, Address: "https:///h"}, false},
		{"webhook bad payload", Recipient{Scope: ScopeDefault, Channel: ChannelWebhook, Address: "https://x.example", Payload: "xml"}, false},
		{"email", Recipient{Scope: ScopeOrganization, Organization: "acme", Channel: ChannelEmail, Address: "ops@example.com"}, true},
		{"email with a name", Recipient{Scope: ScopeDefault, Channel: ChannelEmail, Address: "Ops <ops@example.com>"}, false},
		{"email header injection", Recipient{Scope: ScopeDefault, Channel: ChannelEmail, Address: "ops@example.com\r\nBcc: x@y.z"}, false},
		{"email with a secret", Recipient{Scope: ScopeDefault, Channel: ChannelEmail, Address: "ops@example.com", Secret: "x"}, false},
		{"organization without one", Recipient{Scope: ScopeOrganization, Channel: ChannelEmail, Address: "ops@example.com"}, false},
		{"template without one", Recipient{Scope: ScopeTemplate, Channel: ChannelEmail, Address: "ops@example.com"}, false},
		{"unknown scope", Recipient{Scope: "planet", Channel: ChannelEmail, Address: "ops@example.com"}, false},
		{"unknown channel", Recipient{Scope: ScopeDefault, Channel: "pigeon", Address: "x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.r.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.example.com/services/T/B":          "https://hooks.example.com/services/T/B",
		"https://user:pw@hooks.example.com/h?token=abc#f": "https://redacted@hooks.example.com/h?token=redacted",
		"http://127.0.0.1:8080/h?a=1&b=2":                 "http://127.0.0.1:8080/h?a=redacted&b=redacted",
		"://bad":                                          "(invalid URL)",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
