package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/claimdrift/claimdrift/notify"
	"github.com/google/uuid"
)

// ClaimDueExcluding implements notify.Outbox: ClaimDue skipping the
// messages of the recipients in exclude (those whose lane the dispatcher
// is still busy with).
func (s *Store) ClaimDueExcluding(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int, exclude []string) ([]notify.Message, error) {
	args := []any{us(now), us(now)}
	notIn := ""
	if len(exclude) > 0 {
		notIn = " AND recipient NOT IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(exclude)), ", ") + ")"
		for _, r := range exclude {
			args = append(args, r)
		}
	}
	args = append(args, limit, owner, us(now.Add(lease)))
	var out []notify.Message
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The due rows are picked (and, on PostgreSQL, locked, skipping
		// those another claim holds) in a CTE, then leased.
		rows, err := tx.QueryContext(ctx, s.q(`WITH due AS (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? AND lease_until <= ?`+notIn+`
				ORDER BY next_attempt_at, created_at, id LIMIT ?`+s.d.ForUpdateSkipLocked+`)
			UPDATE outbox SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM due)
			RETURNING id, dedup_key, recipient, payload, attempts, created_at`), args...)
		if err != nil {
			return fmt.Errorf("lease outbox messages: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var m notify.Message
			var id, payload string
			var created int64
			if err := rows.Scan(&id, &m.DedupKey, &m.Recipient, &payload, &m.Attempts, &created); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(payload), &m.Notification); err != nil {
				return fmt.Errorf("decode outbox message %s: %w", id, err)
			}
			m.ID, m.CreatedAt = parseID(id), fromUS(created)
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	// RETURNING gives rows in no particular order; lanes send in due order.
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID.String() < out[j].ID.String()
	})
	return out, nil
}

// Release implements notify.Outbox: the message is due again at next and
// the attempt ClaimDue counted is taken back.
func (s *Store) Release(ctx context.Context, id uuid.UUID, owner string, next time.Time) error {
	return s.markLeased(ctx, id, owner, `next_attempt_at = ?, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END`, us(next))
}
