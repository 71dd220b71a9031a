package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/claimdrift/claimdrift/notify"
	"github.com/google/uuid"
)

// Outbox message statuses.
const (
	OutboxPending   = "pending"
	OutboxDelivered = "delivered"
	OutboxDead      = "dead"
)

// Enqueue implements reconcile.Store.
func (s *Store) Enqueue(ctx context.Context, msgs []notify.Message) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.enqueue(ctx, tx, msgs, time.Now()) })
}

func (s *Store) enqueue(ctx context.Context, q querier, msgs []notify.Message, now time.Time) error {
	ws, err := outboxWrites(msgs, now)
	if err != nil {
		return err
	}
	_, err = s.execBatch(ctx, q, ws)
	return err
}

// outboxWrites are the multi-row inserts that queue msgs as pending
// (a message whose dedup key is queued already is not queued again).
func outboxWrites(msgs []notify.Message, now time.Time) ([]write, error) {
	var out []write
	for len(msgs) > 0 {
		batch := msgs[:min(len(msgs), insertBatch)]
		msgs = msgs[len(batch):]
		args := make([]any, 0, 7*len(batch))
		for _, m := range batch {
			payload, err := json.Marshal(m.Notification)
			if err != nil {
				return nil, fmt.Errorf("encode notification: %w", err)
			}
			if m.ID == uuid.Nil {
				m.ID = uuid.New()
			}
			created := m.CreatedAt
			if created.IsZero() {
				created = now
			}
			args = append(args, m.ID.String(), m.DedupKey, string(m.Notification.Kind), m.Recipient, string(payload), us(created), us(created))
		}
		out = append(out, write{"queue notification", `INSERT INTO outbox (id, dedup_key, kind, recipient, payload, status, attempts, next_attempt_at, created_at)
			VALUES ` + repeatTuple(`(?, ?, ?, ?, ?, 'pending', 0, ?, ?)`, len(batch)) + ` ON CONFLICT (dedup_key) DO NOTHING`, args})
	}
	return out, nil
}

// ClaimDue implements notify.Outbox: it leases due, unleased pending
// messages to owner.
func (s *Store) ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]notify.Message, error) {
	return s.ClaimDueExcluding(ctx, owner, now, lease, limit, nil)
}

func (s *Store) markLeased(ctx context.Context, id uuid.UUID, owner, set string, args ...any) error {
	args = append(args, id.String(), owner)
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE outbox SET `+set+`, lease_owner = '', lease_until = 0 WHERE id = ? AND lease_owner = ? AND status = 'pending'`), args...)
	if err != nil {
		return fmt.Errorf("update outbox message: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notify.ErrLeaseLost
	}
	return nil
}

// MarkDelivered implements notify.Outbox.
func (s *Store) MarkDelivered(ctx context.Context, id uuid.UUID, owner string, now time.Time) error {
	return s.markLeased(ctx, id, owner, `status = 'delivered', delivered_at = ?, last_error = ''`, us(now))
}

// MarkRetry implements notify.Outbox.
func (s *Store) MarkRetry(ctx context.Context, id uuid.UUID, owner string, next time.Time, reason string) error {
	return s.markLeased(ctx, id, owner, `next_attempt_at = ?, last_error = ?`, us(next), reason)
}

// MarkDead implements notify.Outbox.
func (s *Store) MarkDead(ctx context.Context, id uuid.UUID, owner string, now time.Time, reason string) error {
	return s.markLeased(ctx, id, owner, `status = 'dead', delivered_at = ?, last_error = ?`, us(now), reason)
}

// OutboxEntry is an outbox row as operators see it.
type OutboxEntry struct {
	ID            uuid.UUID
	DedupKey      string
	Kind          string
	Recipient     string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	DeliveredAt   time.Time
}

// OutboxEntries lists the outbox, oldest first.
func (s *Store) OutboxEntries(ctx context.Context) ([]OutboxEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, dedup_key, kind, recipient, status, attempts, next_attempt_at, last_error, created_at, delivered_at
		FROM outbox ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxEntry
	for rows.Next() {
		var e OutboxEntry
		var id string
		var next, created, delivered int64
		if err := rows.Scan(&id, &e.DedupKey, &e.Kind, &e.Recipient, &e.Status, &e.Attempts, &next, &e.LastError, &created, &delivered); err != nil {
			return nil, err
		}
		e.ID, e.NextAttemptAt, e.CreatedAt, e.DeliveredAt = parseID(id), fromUS(next), fromUS(created), fromUS(delivered)
		out = append(out, e)
	}
	return out, rows.Err()
}
