package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/google/uuid"
)

// RetryOutboxMessage makes a message (dead, delivered or waiting) due
// again at now with a fresh attempt count. It returns reconcile.ErrNotFound
// when no message has that id.
func (s *Store) RetryOutboxMessage(ctx context.Context, id uuid.UUID, now time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_owner = '', lease_until = 0, delivered_at = 0
		WHERE id = ?`), us(now), id.String())
	if err != nil {
		return fmt.Errorf("retry outbox message: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("outbox message %s: %w", id, reconcile.ErrNotFound)
	}
	return nil
}

// ---- recipients ----

// recipientCols are a recipient's columns, as scanRecipient reads them:
// recipientText's, then its creation time.
const recipientCols = recipientText + `, r.created_at`

// recipientText are a recipient's text columns.
const recipientText = `r.id, r.scope, r.template_id, COALESCE(t.name, ''), CASE WHEN r.scope = 'template' THEN COALESCE(t.organization, '') ELSE r.organization END,
	r.channel, r.address, r.secret, r.payload`

const recipientFrom = ` FROM notify_recipients r LEFT JOIN templates t ON t.id = r.template_id AND r.template_id <> ''`

func (s *Store) scanRecipient(sc interface{ Scan(...any) error }) (notify.Recipient, error) {
	var c recipientRow
	if err := sc.Scan(&c.id, &c.scope, &c.templateID, &c.template, &c.organization, &c.channel, &c.address, &c.secret, &c.payload, &c.created); err != nil {
		return notify.Recipient{}, err
	}
	return s.recipient(c), nil
}

// recipientRow is a recipient's columns as recipientCols reads them.
type recipientRow struct {
	id, scope, templateID, template, organization, channel, address, secret, payload string
	created                                                                          int64
}

// recipient makes c a recipient, its secret opened when the store has
// the key.
func (s *Store) recipient(c recipientRow) notify.Recipient {
	r := notify.Recipient{ID: parseID(c.id), Scope: notify.Scope(c.scope), TemplateID: parseID(c.templateID), Template: c.template, Organization: c.organization,
		Channel: notify.Channel(c.channel), Address: c.address, Secret: notify.Secret(c.secret), Payload: notify.PayloadFormat(c.payload), CreatedAt: fromUS(c.created)}
	if notify.IsSealed(c.secret) && s.secrets != nil {
		// A value that does not open (another key) stays sealed: the
		// webhook transport refuses to sign with it and retries.
		if plain, err := s.secrets.Open(c.secret, c.id); err == nil {
			r.Secret = plain
		}
	}
	return r
}

// recipientOrder is the order ListRecipients lists recipients in: by
// scope (template, organization, default), organization, template,
// channel, address and id, compared byte by byte on every store.
func recipientOrder(a, b notify.Recipient) int {
	return cmp.Or(cmp.Compare(scopeRank(a.Scope), scopeRank(b.Scope)), strings.Compare(a.Organization, b.Organization),
		strings.Compare(a.Template, b.Template), strings.Compare(string(a.Channel), string(b.Channel)), strings.Compare(a.Address, b.Address),
		strings.Compare(a.ID.String(), b.ID.String()))
}

func scopeRank(sc notify.Scope) int {
	switch sc {
	case notify.ScopeTemplate:
		return 0
	case notify.ScopeOrganization:
		return 1
	}
	return 2
}

// recipientsKey marks a context carrying every recipient, read by a
// track with its target (see readTrackTarget) for ListRecipients to
// answer without another round trip.
type recipientsKey struct{ s *Store }

// UseSecretKey makes the store encrypt webhook secrets at rest with key
// (AES-256-GCM, bound to the recipient's id) and decrypt them on read. It
// also encrypts the secrets stored in plain text before a key was
// configured, and returns how many it encrypted.
func (s *Store) UseSecretKey(ctx context.Context, key *notify.SecretKey) (int, error) {
	s.secrets = key
	if key == nil {
		return 0, nil
	}
	n := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		rows, err := tx.QueryContext(ctx, `SELECT id, secret FROM notify_recipients WHERE secret <> ''`)
		if err != nil {
			return err
		}
		type row struct{ id, secret string }
		var plain []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.secret); err != nil {
				rows.Close()
				return err
			}
			if !notify.IsSealed(r.secret) {
				plain = append(plain, r)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range plain {
			sealed, err := key.Seal(notify.Secret(r.secret), r.id)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE notify_recipients SET secret = ? WHERE id = ? AND secret = ?`), sealed, r.id, r.secret); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("encrypt stored secrets: %w", err)
	}
	return n, nil
}

// SecretsEncrypted reports whether secrets are encrypted at rest (a key
// was given with UseSecretKey).
func (s *Store) SecretsEncrypted() bool { return s.secrets != nil }

// sealSecret is what the secret column holds for r: encrypted when a key
// is configured, else the plain text.
func (s *Store) sealSecret(r notify.Recipient, id string) (string, error) {
	if s.secrets == nil {
		return r.Secret.Reveal(), nil
	}
	return s.secrets.Seal(r.Secret, id)
}

// AddRecipient stores a recipient. A template recipient names its
// template by TemplateID, or by Template (and Organization when names
// clash). Adding the same destination to the same scope again updates its
// secret and payload format and keeps its id.
func (s *Store) AddRecipient(ctx context.Context, r notify.Recipient) (notify.Recipient, error) {
	if r.Payload == "" && r.Channel == notify.ChannelWebhook {
		r.Payload = notify.PayloadGeneric
	}
	if err := r.Validate(); err != nil {
		return r, err
	}
	var out notify.Recipient
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		org := r.Organization
		switch r.Scope {
		case notify.ScopeTemplate:
			if r.TemplateID == uuid.Nil {
				t, err := s.templateByName(ctx, tx, r.Organization, r.Template, false)
				if err != nil {
					return err
				}
				r.TemplateID = t.ID
			}
			org = ""
		case notify.ScopeDefault:
			org = ""
		}
		if r.Scope != notify.ScopeTemplate {
			r.TemplateID = uuid.Nil
		}
		var id string
		err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM notify_recipients WHERE scope = ? AND template_id = ? AND organization = ? AND channel = ? AND address = ?`),
			string(r.Scope), idText(r.TemplateID), org, string(r.Channel), r.Address).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if r.ID == uuid.Nil {
				r.ID = uuid.New()
			}
			if r.CreatedAt.IsZero() {
				r.CreatedAt = time.Now()
			}
			id = r.ID.String()
			var stored string
			if stored, err = s.sealSecret(r, id); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO notify_recipients (id, scope, template_id, organization, channel, address, secret, payload, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				id, string(r.Scope), idText(r.TemplateID), org, string(r.Channel), r.Address, stored, string(r.Payload), us(r.CreatedAt))
		case err == nil:
			var stored string
			if stored, err = s.sealSecret(r, id); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, s.q(`UPDATE notify_recipients SET secret = ?, payload = ? WHERE id = ?`), stored, string(r.Payload), id)
		}
		if err != nil {
			return fmt.Errorf("store recipient: %w", err)
		}
		out, err = s.scanRecipient(tx.QueryRowContext(ctx, s.q(`SELECT `+recipientCols+recipientFrom+` WHERE r.id = ?`), id))
		return err
	})
	return out, err
}

// ListRecipients implements notify.RecipientLister: every recipient,
// ordered by scope, organization, template and address (recipientOrder).
// Called from a write's notification callback, it reads in that write's
// transaction; called from a track's, it answers what the track read with
// its target, in the same statement.
func (s *Store) ListRecipients(ctx context.Context) ([]notify.Recipient, error) {
	if list, ok := ctx.Value(recipientsKey{s}).([]notify.Recipient); ok {
		return slices.Clone(list), nil
	}
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT `+recipientCols+recipientFrom)
	if err != nil {
		return nil, fmt.Errorf("list recipients: %w", err)
	}
	defer rows.Close()
	var out []notify.Recipient
	for rows.Next() {
		r, err := s.scanRecipient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, recipientOrder)
	return out, nil
}

// Recipient implements notify.RecipientGetter.
func (s *Store) Recipient(ctx context.Context, id uuid.UUID) (notify.Recipient, error) {
	r, err := s.scanRecipient(s.db.QueryRowContext(ctx, s.q(`SELECT `+recipientCols+recipientFrom+` WHERE r.id = ?`), id.String()))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("recipient %s: %w", id, notify.ErrRecipientNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read recipient: %w", err)
	}
	return r, nil
}

// RemoveRecipient deletes a recipient; messages already queued for it are
// dead-lettered by the dispatcher. It wraps notify.ErrRecipientNotFound
// when there is none.
func (s *Store) RemoveRecipient(ctx context.Context, id uuid.UUID) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM notify_recipients WHERE id = ?`), id.String())
	if err != nil {
		return fmt.Errorf("remove recipient: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("recipient %s: %w", id, notify.ErrRecipientNotFound)
	}
	return nil
}

// OutboxList lists the outbox for operators, oldest first; status "" lists
// every status.
func (s *Store) OutboxList(ctx context.Context, status string) ([]notify.OutboxEntry, error) {
	rows, err := s.OutboxEntries(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]notify.OutboxEntry, 0, len(rows))
	for _, e := range rows {
		if status != "" && e.Status != status {
			continue
		}
		out = append(out, notify.OutboxEntry{ID: e.ID, DedupKey: e.DedupKey, Kind: notify.Kind(e.Kind), Recipient: e.Recipient, Status: e.Status,
			Attempts: e.Attempts, NextAttemptAt: e.NextAttemptAt, LastError: e.LastError, CreatedAt: e.CreatedAt, DeliveredAt: e.DeliveredAt})
	}
	return out, nil
}
