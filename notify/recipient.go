package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Scope says whose admins a recipient belongs to.
type Scope string

// Recipient scopes, most specific first.
const (
	ScopeTemplate     Scope = "template"
	ScopeOrganization Scope = "organization"
	ScopeDefault      Scope = "default"
)

// Channel is how a recipient is reached.
type Channel string

// Channels.
const (
	ChannelWebhook Channel = "webhook"
	ChannelEmail   Channel = "email"
)

// PayloadFormat is the body a webhook receives.
type PayloadFormat string

// Payload formats.
const (
	// PayloadGeneric is the claimdrift.notification/v1 JSON document.
	PayloadGeneric PayloadFormat = "generic"
	// PayloadSlack is a Slack incoming-webhook message (text and blocks).
	PayloadSlack PayloadFormat = "slack"
)

// Secret is a value that must never be printed: its String, GoString,
// MarshalText and LogValue all hide it. Reveal returns the value.
type Secret string

const secretShown = "(secret set)"

// String hides the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return secretShown
}

// GoString hides the secret from %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalText hides the secret from encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue hides the secret from log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Reveal returns the secret itself, for signing or authenticating only.
func (s Secret) Reveal() string { return string(s) }

// Recipient is one destination of a template's (or organization's, or
// everyone's) notifications.
type Recipient struct {
	ID    uuid.UUID
	Scope Scope
	// TemplateID and Template (its name) are set for ScopeTemplate.
	TemplateID uuid.UUID
	Template   string
	// Organization is set for ScopeOrganization, and names the template's
	// organization for ScopeTemplate.
	Organization string
	Channel      Channel
	// Address is the webhook URL or the email address.
	Address string
	// Secret signs webhook deliveries; never printed.
	Secret Secret
	// Payload is the webhook body format (generic when empty).
	Payload   PayloadFormat
	CreatedAt time.Time
}

// Key is how outbox messages name the recipient.
func (r Recipient) Key() string { return r.ID.String() }

// Target is what the recipient says on screen: the email address, or the
// webhook URL with credentials and query values hidden (a URL's query may
// carry a token).
func (r Recipient) Target() string {
	if r.Channel == ChannelWebhook {
		return RedactURL(r.Address)
	}
	return r.Address
}

// RedactURL hides a URL's user information and query values.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	if u.User != nil {
		u.User = url.User("redacted")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"redacted"}
		}
		u.RawQuery = q.Encode()
	}
	u.Fragment = ""
	redactPathTokens(u)
	return u.String()
}

// Validate checks a recipient before it is stored.
func (r Recipient) Validate() error {
	switch r.Scope {
	case ScopeTemplate:
		if r.TemplateID == uuid.Nil && r.Template == "" {
			return errors.New("template recipient without a template")
		}
	case ScopeOrganization:
		if r.Organization == "" {
			return errors.New("organization recipient without an organization")
		}
	case ScopeDefault:
	default:
		return fmt.Errorf("unknown recipient scope %q", r.Scope)
	}
	switch r.Channel {
	case ChannelWebhook:
		u, err := url.Parse(r.Address)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("webhook URL %s: want an http:// or https:// URL", RedactURL(r.Address))
		}
		switch r.Payload {
		case "", PayloadGeneric, PayloadSlack:
		default:
			return fmt.Errorf("payload %q: want generic or slack", r.Payload)
		}
	case ChannelEmail:
		a, err := mail.ParseAddress(r.Address)
		if err != nil || a.Name != "" || a.Address != r.Address {
			return fmt.Errorf("email address %q: want a bare address such as ops@example.com", r.Address)
		}
		if r.Secret != "" || (r.Payload != "" && r.Payload != PayloadGeneric) {
			return errors.New("a secret and a payload format apply to webhooks only")
		}
	default:
		return fmt.Errorf("unknown channel %q", r.Channel)
	}
	return nil
}

// RecipientTarget is what a notification is about, for recipient
// resolution.
type RecipientTarget struct {
	TemplateID   uuid.UUID
	Template     string
	Organization string
}

// Resolve picks the recipients for target from all: the template's own,
// else its organization's, else the defaults. It returns the scope that
// matched ("" when none did).
func Resolve(all []Recipient, target RecipientTarget) ([]Recipient, Scope) {
	var byScope [3][]Recipient
	for _, r := range all {
		switch {
		case r.Scope == ScopeTemplate && target.TemplateID != uuid.Nil && r.TemplateID == target.TemplateID:
			byScope[0] = append(byScope[0], r)
		case r.Scope == ScopeOrganization && r.Organization == target.Organization:
			byScope[1] = append(byScope[1], r)
		case r.Scope == ScopeDefault:
			byScope[2] = append(byScope[2], r)
		}
	}
	for i, scope := range []Scope{ScopeTemplate, ScopeOrganization, ScopeDefault} {
		if len(byScope[i]) > 0 {
			return byScope[i], scope
		}
	}
	return nil, ""
}

// RecipientLister reads every stored recipient.
type RecipientLister interface {
	ListRecipients(ctx context.Context) ([]Recipient, error)
}

// Resolver turns a notification's target into outbox recipient keys.
type Resolver struct {
	store  RecipientLister
	logger *slog.Logger
	now    func() time.Time

	mu sync.Mutex
	// warned is when each template was last warned about having no
	// recipient.
	warned map[uuid.UUID]time.Time
}

// noRecipientWarnEvery spaces the warnings about a template without
// recipients: under load a template notifies many times a second.
const noRecipientWarnEvery = 10 * time.Minute

// NewResolver returns a resolver reading recipients from store and
// warning on logger.
func NewResolver(store RecipientLister, logger *slog.Logger) *Resolver {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Resolver{store: store, logger: logger, now: time.Now, warned: map[uuid.UUID]time.Time{}}
}

// warnNobody reports whether to warn now that target's template has no
// recipient: the first time, then at most once per noRecipientWarnEvery.
func (r *Resolver) warnNobody(target RecipientTarget) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if last, ok := r.warned[target.TemplateID]; ok && now.Sub(last) < noRecipientWarnEvery {
		return false
	}
	r.warned[target.TemplateID] = now
	return true
}

// ErrRecipientsUnavailable is returned (wrapped) by Resolver.Keys when the
// stored recipients cannot be read: the caller fails the write that
// needed them and retries later, so a notification is never routed to the
// log because of a passing database error.
var ErrRecipientsUnavailable = errors.New("notification recipients unavailable")

// Keys returns the recipient keys for target. With no recipient at all it
// logs a warning (once per noRecipientWarnEvery per template) and returns
// the default key "", which the dispatcher hands
// to its fallback transport (the log), so nothing is silently dropped. When
// the store cannot be read, it tries twice more (within ctx) and then
// returns ErrRecipientsUnavailable: falling back to the log then would
// lose the notification for its real recipients for good.
func (r *Resolver) Keys(ctx context.Context, target RecipientTarget) ([]string, error) {
	var all []Recipient
	var err error
	wait := 100 * time.Millisecond
	for attempt := 1; attempt <= 3; attempt++ {
		if all, err = r.store.ListRecipients(ctx); err == nil {
			break
		}
		r.logger.WarnContext(ctx, "read notification recipients", "attempt", attempt, "error", err.Error(),
			"template", target.Template, "organization", target.Organization)
		if attempt == 3 {
			break
		}
		select {
		case <-ctx.Done():
			attempt = 3
		case <-time.After(wait):
		}
		wait *= 2
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecipientsUnavailable, err)
	}
	recips, _ := Resolve(all, target)
	if len(recips) == 0 {
		if r.warnNobody(target) {
			r.logger.WarnContext(ctx, "no notification recipients for template, its organization or the default; its notifications go to the log only (add some with `claimdrift admins add`; said once per 10 minutes per template)",
				"template", target.Template, "organization", target.Organization)
		}
		return []string{""}, nil
	}
	keys := make([]string, 0, len(recips))
	for _, rc := range recips {
		keys = append(keys, rc.Key())
	}
	return keys, nil
}

// ensure the Secret type hides itself in fmt verbs too.
var _ fmt.Stringer = Secret("")

// trimForLog bounds receiver-provided text included in errors.
func trimForLog(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
