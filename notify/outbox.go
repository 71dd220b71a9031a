package notify

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// ErrLeaseLost is returned by the Mark methods when the message is no
// longer leased to the caller (the lease expired and another dispatcher
// took it).
var ErrLeaseLost = errors.New("outbox lease lost")

// Message is one queued notification for one recipient.
type Message struct {
	ID uuid.UUID
	// DedupKey is unique in the outbox: queueing the same event for the
	// same recipient twice keeps one message.
	DedupKey string
	// Recipient names the destination; "" means the default transport.
	Recipient    string
	Notification Notification
	// Attempts counts delivery attempts, this one included.
	Attempts  int
	CreatedAt time.Time
}

// NewMessage prepares a message for the outbox.
func NewMessage(n Notification, recipient string) Message {
	return Message{ID: uuid.New(), DedupKey: n.DedupKey(recipient), Recipient: recipient, Notification: n, CreatedAt: n.CreatedAt}
}

// Outbox is the durable queue the Dispatcher drains. Claims are leases on
// rows, not a process-wide lock: any number of dispatchers may share one
// outbox and each message is handed to one of them at a time.
type Outbox interface {
	// ClaimDue leases up to limit messages that are due at now and not
	// leased by anyone, to owner until now+lease, counting an attempt.
	ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Message, error)
	// ClaimDueExcluding is ClaimDue skipping the messages of the given
	// recipients (those this dispatcher is still busy with).
	ClaimDueExcluding(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int, exclude []string) ([]Message, error)
	// Release gives a leased message back untried: the attempt ClaimDue
	// counted is taken back and the message is due again at next.
	Release(ctx context.Context, id uuid.UUID, owner string, next time.Time) error
	// MarkDelivered records a delivery.
	MarkDelivered(ctx context.Context, id uuid.UUID, owner string, now time.Time) error
	// MarkRetry releases the message to be tried again at next.
	MarkRetry(ctx context.Context, id uuid.UUID, owner string, next time.Time, reason string) error
	// MarkDead gives up on the message; it stays visible for operators.
	MarkDead(ctx context.Context, id uuid.UUID, owner string, now time.Time, reason string) error
}

// Transport delivers one message. An error wrapped with Permanent is not
// retried; one wrapped with RetryAfter is retried after the delay it
// carries; any other error is retried with backoff.
type Transport interface {
	Send(ctx context.Context, m Message) error
}

// TransportFunc adapts a function to Transport.
type TransportFunc func(ctx context.Context, m Message) error

// Send calls f.
func (f TransportFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks a delivery error as one that retrying cannot fix.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// OutboxEntry is an outbox row as operators see it: no payload, so no
// notification content, only where it goes and how delivery went.
type OutboxEntry struct {
	ID            uuid.UUID `json:"id"`
	DedupKey      string    `json:"dedup_key"`
	Kind          Kind      `json:"kind"`
	Recipient     string    `json:"recipient"`
	Status        string    `json:"status"`
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"next_attempt_at"`
	LastError     string    `json:"last_error"`
	CreatedAt     time.Time `json:"created_at"`
	DeliveredAt   time.Time `json:"delivered_at"`
}
