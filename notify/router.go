package notify

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// RecipientGetter reads one stored recipient; it returns an error wrapping
// ErrRecipientNotFound when there is none.
type RecipientGetter interface {
	Recipient(ctx context.Context, id uuid.UUID) (Recipient, error)
}

// ChannelTransport delivers to one kind of recipient.
type ChannelTransport interface {
	Deliver(ctx context.Context, r Recipient, m Message) error
}

// Router is the Transport a dispatcher uses: it looks up each message's
// recipient and hands the message to the transport of its channel. The
// default recipient ("") goes to Fallback.
type Router struct {
	Recipients RecipientGetter
	Webhook    ChannelTransport
	// Email may be nil (no SMTP server configured): email messages then
	// fail with ErrNoTransport and are retried.
	Email ChannelTransport
	// Fallback receives messages for the default recipient (the log).
	Fallback Transport
	// Links, when set, fills each notification's Link before delivery.
	Links LinkTemplate
}

// Send implements Transport.
func (rt *Router) Send(ctx context.Context, m Message) error {
	if !rt.Links.IsZero() && m.Notification.Link == "" {
		m.Notification.Link = rt.Links.Expand(m.Notification)
	}
	if m.Recipient == "" {
		if rt.Fallback == nil {
			return fmt.Errorf("default recipient: %w", ErrNoTransport)
		}
		return rt.Fallback.Send(ctx, m)
	}
	id, err := uuid.Parse(m.Recipient)
	if err != nil {
		return Permanent(fmt.Errorf("recipient %q: %w", m.Recipient, ErrRecipientNotFound))
	}
	r, err := rt.Recipients.Recipient(ctx, id)
	if errors.Is(err, ErrRecipientNotFound) {
		return Permanent(fmt.Errorf("recipient %s was removed: %w", id, ErrRecipientNotFound))
	}
	if err != nil {
		return fmt.Errorf("read recipient %s: %w", id, err)
	}
	switch r.Channel {
	case ChannelWebhook:
		if rt.Webhook == nil {
			return fmt.Errorf("webhook: %w", ErrNoTransport)
		}
		return rt.Webhook.Deliver(ctx, r, m)
	case ChannelEmail:
		if rt.Email == nil {
			return fmt.Errorf("email (no SMTP server): %w", ErrNoTransport)
		}
		return rt.Email.Deliver(ctx, r, m)
	}
	return Permanent(fmt.Errorf("recipient %s: unknown channel %q", id, r.Channel))
}
