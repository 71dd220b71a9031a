// Package notify tells template admins what happened to their templates:
// a claim that replaced resources (with the exact ignore_changes fix), a
// preset paused as replacement-prone, a preset stopped at its failure limit.
//
// A Notification renders as a title, plain text, markdown, a Slack message
// and a versioned JSON payload (schema claimdrift.notification/v1)
// carrying a dedup key per (workspace, build, recipient).
//
// Recipients are stored per template, per organization or as defaults;
// Resolve picks the most specific set, and a Resolver turns it into one
// outbox message per recipient (none at all is a logged warning and the
// log transport). Notifications are queued in a durable outbox, in the
// same transaction as the event they report.
//
// A Dispatcher drains the outbox with leased row claims, so several
// dispatchers on one database send each message once, through a Router
// that hands each message to its recipient's transport: WebhookTransport
// (HMAC-SHA256 signed POSTs; 2xx delivered, 429 after Retry-After, other
// 4xx permanent, 5xx retried), EmailTransport (SMTP with STARTTLS and
// optional AUTH) or LogTransport. Transports say whether an error is
// Permanent or carries a RetryAfter; the Dispatcher applies the policy:
// exponential backoff with jitter, dead letters after MaxAttempts, one
// lane per recipient so a slow receiver delays only its own messages.
//
// notify declares the interfaces it needs (Outbox, RecipientLister,
// RecipientGetter); the store packages implement them. It imports analyzer
// for the report's types and nothing else of claimdrift.
package notify
