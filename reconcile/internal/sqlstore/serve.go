package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/google/uuid"
)

var (
	_ reconcile.ObservedStore = (*Store)(nil)
	_ reconcile.PresetLookup  = (*Store)(nil)
)

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// ---- API tokens ----

// CreateToken stores a new API token (its hash); ErrDuplicate when the
// name is taken.
func (s *Store) CreateToken(ctx context.Context, t reconcile.APIToken) error {
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO api_tokens (id, name, scopes, hash, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		t.ID.String(), t.Name, strings.Join(t.Scopes, ","), t.Hash, us(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %q: %w", t.Name, reconcile.ErrDuplicate)
	}
	return nil
}

const tokenCols = `id, name, scopes, hash, created_at, revoked_at`

func scanToken(sc interface{ Scan(...any) error }) (reconcile.APIToken, error) {
	var id, name, scopes, hash string
	var created, revoked int64
	if err := sc.Scan(&id, &name, &scopes, &hash, &created, &revoked); err != nil {
		return reconcile.APIToken{}, err
	}
	return tokenFrom(id, name, scopes, hash, created, revoked), nil
}

// tokenFrom makes an API token of its columns (tokenCols).
func tokenFrom(id, name, scopes, hash string, created, revoked int64) reconcile.APIToken {
	t := reconcile.APIToken{ID: parseID(id), Name: name, Scopes: []string{}, Hash: hash, CreatedAt: fromUS(created), RevokedAt: fromUS(revoked)}
	if scopes != "" {
		t.Scopes = strings.Split(scopes, ",")
	}
	return t
}

// Tokens lists every API token, by name.
func (s *Store) Tokens(ctx context.Context) ([]reconcile.APIToken, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenCols+` FROM api_tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []reconcile.APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TokenByHash returns the token whose hash is hash, or ErrNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash string) (reconcile.APIToken, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, s.q(`SELECT `+tokenCols+` FROM api_tokens WHERE hash = ?`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return t, reconcile.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("read token: %w", err)
	}
	return t, nil
}

// RevokeToken revokes the token with that id or name and returns it;
// ErrNotFound when there is none. Revoking twice keeps the first time.
func (s *Store) RevokeToken(ctx context.Context, idOrName string, now time.Time) (reconcile.APIToken, error) {
	var t reconcile.APIToken
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = scanToken(tx.QueryRowContext(ctx, s.q(`SELECT `+tokenCols+` FROM api_tokens WHERE id = ? OR name = ?`), idOrName, idOrName))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("token %q: %w", idOrName, reconcile.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if t.Revoked() {
			return nil
		}
		t.RevokedAt = now
		_, err = tx.ExecContext(ctx, s.q(`UPDATE api_tokens SET revoked_at = ? WHERE id = ?`), us(now), t.ID.String())
		return err
	})
	return t, err
}

// ---- presets by key ----

const presetInfoQuery = `SELECT ` + presetCols + `, ` + templateCols + ` FROM presets p JOIN templates t ON t.id = p.template_id`

func scanPresetInfo(sc interface{ Scan(...any) error }) (reconcile.PresetInfo, error) {
	var pi reconcile.PresetInfo
	dest, finish := presetScanner(&pi.Preset)
	var tid, tactive string
	var tcreated int64
	dest = append(dest, &tid, &pi.Template.Name, &pi.Template.Organization, &tactive, &tcreated)
	if err := sc.Scan(dest...); err != nil {
		return pi, err
	}
	pi.Template.ID, pi.Template.ActiveVersionID, pi.Template.CreatedAt = parseID(tid), parseID(tactive), fromUS(tcreated)
	return pi, finish()
}

// PresetByID implements reconcile.PresetLookup.
func (s *Store) PresetByID(ctx context.Context, id uuid.UUID) (reconcile.PresetInfo, error) {
	pi, err := scanPresetInfo(s.db.QueryRowContext(ctx, s.q(presetInfoQuery+` WHERE p.id = ?`), id.String()))
	if errors.Is(err, sql.ErrNoRows) {
		return pi, fmt.Errorf("preset %s: %w", id, reconcile.ErrNotFound)
	}
	return pi, err
}

// PresetByName implements reconcile.PresetLookup.
func (s *Store) PresetByName(ctx context.Context, template, preset string) (reconcile.PresetInfo, error) {
	rows, err := s.db.QueryContext(ctx, s.q(presetInfoQuery+` WHERE (t.name = ? OR t.id = ?) AND p.name = ? LIMIT 2`), template, template, preset)
	if err != nil {
		return reconcile.PresetInfo{}, fmt.Errorf("find preset: %w", err)
	}
	defer rows.Close()
	var found []reconcile.PresetInfo
	for rows.Next() {
		pi, err := scanPresetInfo(rows)
		if err != nil {
			return pi, err
		}
		found = append(found, pi)
	}
	if err := rows.Err(); err != nil {
		return reconcile.PresetInfo{}, err
	}
	switch len(found) {
	case 0:
		return reconcile.PresetInfo{}, fmt.Errorf("preset %q of template %q: %w", preset, template, reconcile.ErrNotFound)
	case 1:
		return found[0], nil
	}
	return reconcile.PresetInfo{}, fmt.Errorf("template %q is in several organizations (use the preset id): %w", template, reconcile.ErrAmbiguous)
}

// ObservedPresets returns the ids of presets only known from Coder.
func (s *Store) ObservedPresets(ctx context.Context) (map[uuid.UUID]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM presets WHERE observed_from <> ''`)
	if err != nil {
		return nil, fmt.Errorf("list observed presets: %w", err)
	}
	defer rows.Close()
	out := map[uuid.UUID]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[parseID(id)] = true
	}
	return out, rows.Err()
}

// ---- history ----

// History returns tracked builds that replaced something, newest first.
func (s *Store) History(ctx context.Context, hq reconcile.HistoryQuery) ([]reconcile.HistoryEntry, error) {
	query := `SELECT tb.build_id, tb.tracked_at, b.stage, b.initiator, w.id, w.name, w.owner, t.id, t.name, t.organization,
			COALESCE(v.name, ''), COALESCE(p.id, ''), COALESCE(p.name, ''),
			CASE WHEN EXISTS (SELECT 1 FROM coder_messages m WHERE m.build_id = tb.build_id) THEN 1 ELSE 0 END
		FROM tracked_builds tb JOIN builds b ON b.id = tb.build_id JOIN workspaces w ON w.id = b.workspace_id
		JOIN templates t ON t.id = w.template_id
		LEFT JOIN template_versions v ON v.id = b.template_version_id
		LEFT JOIN presets p ON p.id = b.preset_id
		WHERE tb.replacements > 0`
	var args []any
	if hq.Template != "" {
		query += ` AND (t.name = ? OR t.id = ?)`
		args = append(args, hq.Template, hq.Template)
	}
	if hq.Preset != "" {
		query += ` AND (p.name = ? OR p.id = ?)`
		args = append(args, hq.Preset, hq.Preset)
	}
	if hq.BuildID != uuid.Nil {
		query += ` AND tb.build_id = ?`
		args = append(args, hq.BuildID.String())
	}
	if !hq.Since.IsZero() {
		query += ` AND tb.tracked_at >= ?`
		args = append(args, us(hq.Since))
	}
	limit := hq.Limit
	if limit <= 0 {
		limit = 100
	}
	query += ` ORDER BY tb.tracked_at DESC, tb.build_id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	var out []reconcile.HistoryEntry
	index := map[string]int{}
	for rows.Next() {
		var e reconcile.HistoryEntry
		var bid, stage, initiator, wid, owner, tid, pid string
		var tracked int64
		var coder int
		if err := rows.Scan(&bid, &tracked, &stage, &initiator, &wid, &e.Workspace, &owner, &tid, &e.Template, &e.Organization,
			&e.TemplateVersion, &pid, &e.Preset, &coder); err != nil {
			rows.Close()
			return nil, err
		}
		e.BuildID, e.WorkspaceID, e.TemplateID, e.PresetID = parseID(bid), parseID(wid), parseID(tid), parseID(pid)
		e.TrackedAt, e.Stage = fromUS(tracked), reconcile.Stage(stage)
		e.Claimant = owner
		if owner == reconcile.PrebuildsOwner || owner == "" {
			e.Claimant = initiator
		}
		e.Source = reconcile.SourceClaimdrift
		if coder != 0 {
			e.Source = reconcile.SourceCoder
		}
		e.Replacements = []reconcile.HistoryReplacement{}
		index[bid] = len(out)
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]any, 0, len(out))
	for _, e := range out {
		ids = append(ids, e.BuildID.String())
	}
	byBuild, err := s.replacementsOf(ctx, s.db, ids)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	for bid, reps := range byBuild {
		if i, ok := index[bid]; ok {
			out[i].Replacements = reps
		}
	}
	return out, nil
}

// PathCounts counts, per template, the claims each attribute path forced
// a replacement in (since since), most first.
func (s *Store) PathCounts(ctx context.Context, since time.Time) ([]reconcile.PathCount, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT t.organization, t.name, r.build_id, r.type, r.paths, r.paths_as_given
		FROM replacements r JOIN builds b ON b.id = r.build_id JOIN workspaces w ON w.id = b.workspace_id JOIN templates t ON t.id = w.template_id
		WHERE b.stage = 'claim' AND r.created_at >= ?`), us(since))
	if err != nil {
		return nil, fmt.Errorf("count replacement paths: %w", err)
	}
	defer rows.Close()
	type key struct {
		org, template, path string
		asGiven             bool
	}
	claims := map[key]map[string]bool{}
	for rows.Next() {
		var org, tmpl, bid, typ, paths string
		var asGiven int
		if err := rows.Scan(&org, &tmpl, &bid, &typ, &paths, &asGiven); err != nil {
			return nil, err
		}
		var list []string
		if err := json.Unmarshal([]byte(paths), &list); err != nil {
			return nil, fmt.Errorf("replacement paths of build %s: %w", bid, err)
		}
		for _, p := range list {
			k := key{org, tmpl, typ + "." + p, asGiven != 0}
			if claims[k] == nil {
				claims[k] = map[string]bool{}
			}
			claims[k][bid] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]reconcile.PathCount, 0, len(claims))
	for k, builds := range claims {
		out = append(out, reconcile.PathCount{Organization: k.org, Template: k.template, Path: k.path, PathsAsGiven: k.asGiven, Claims: len(builds)})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Organization != b.Organization || a.Template != b.Template {
			return a.Organization+"\x00"+a.Template < b.Organization+"\x00"+b.Template
		}
		if a.Claims != b.Claims {
			return a.Claims > b.Claims
		}
		return a.Path < b.Path
	})
	return out, nil
}

// ---- Coder notifications ----

// coderNamespace derives stable ids for Coder's workspaces and builds
// from their names, so the same build named twice is one build.
var coderNamespace = uuid.MustParse("5b0e8f3c-4f4e-4a55-9b57-1c0a8d9c2f11")

// RecordObserved implements reconcile.ObservedStore.
func (s *Store) RecordObserved(ctx context.Context, in reconcile.ObservedReplacement) (reconcile.ObservedResult, error) {
	var res reconcile.ObservedResult
	wsKey := in.Organization + "\x00" + in.Claimant + "\x00" + in.Workspace
	wsID := uuid.NewSHA1(coderNamespace, []byte("workspace\x00"+wsKey))
	buildID := uuid.NewSHA1(coderNamespace, []byte(fmt.Sprintf("build\x00%s\x00%d", wsKey, in.BuildNumber)))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The message id first: a concurrent copy of the message waits
		// here for this transaction and then finds it recorded.
		r, err := tx.ExecContext(ctx, s.q(`INSERT INTO coder_messages (msg_id, build_id, received_at) VALUES (?, ?, ?) ON CONFLICT (msg_id) DO NOTHING`),
			in.MsgID, buildID.String(), us(in.Now))
		if err != nil {
			return fmt.Errorf("record message: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return s.observedExisting(ctx, tx, in.MsgID, &res)
		}
		var tracked int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM tracked_builds WHERE build_id = ?`), buildID.String()).Scan(&tracked); err != nil {
			return err
		}
		if tracked > 0 {
			// Another message about the same build: keep the first.
			return s.observedBuild(ctx, tx, buildID, &res)
		}
		tid, err := s.observeTemplate(ctx, tx, in)
		if err != nil {
			return err
		}
		vid, err := s.observeVersion(ctx, tx, tid, in)
		if err != nil {
			return err
		}
		pid, err := s.observePreset(ctx, tx, tid, in)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO workspaces (id, name, owner, template_id, preset_id, created_at, claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`), wsID.String(), in.Workspace, in.Claimant, tid, pid, us(in.Now), us(in.Now)); err != nil {
			return fmt.Errorf("record workspace: %w", err)
		}
		var exists int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM builds WHERE id = ?`), buildID.String()).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			if _, err := s.insertBuild(ctx, tx, reconcile.Build{ID: buildID, WorkspaceID: wsID, TemplateVersionID: parseID(vid), PresetID: parseID(pid),
				Transition: reconcile.TransitionStart, Status: reconcile.BuildSucceeded, Stage: reconcile.StageClaim, Initiator: in.Claimant,
				CreatedAt: in.Now, StartedAt: in.Now, CompletedAt: in.Now}); err != nil {
				return err
			}
		}
		res.New = true
		if res.Build, err = s.buildContext(ctx, tx, buildID); err != nil {
			return err
		}
		res.Replacements, res.Queued, err = s.writeTracked(s.withTx(ctx, tx), tx, nil, res.Build, in.Replacements, in.PathsAsGiven, in.Now, in.Notify, false)
		return err
	})
	return res, err
}

func (s *Store) observedExisting(ctx context.Context, tx *sql.Tx, msgID string, res *reconcile.ObservedResult) error {
	var bid string
	if err := tx.QueryRowContext(ctx, s.q(`SELECT build_id FROM coder_messages WHERE msg_id = ?`), msgID).Scan(&bid); err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	return s.observedBuild(ctx, tx, parseID(bid), res)
}

func (s *Store) observedBuild(ctx context.Context, tx *sql.Tx, buildID uuid.UUID, res *reconcile.ObservedResult) error {
	bc, err := s.buildContext(ctx, tx, buildID)
	if err != nil {
		return err
	}
	res.Build = bc
	return tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM replacements WHERE build_id = ?`), buildID.String()).Scan(&res.Replacements)
}

func (s *Store) observeTemplate(ctx context.Context, tx *sql.Tx, in reconcile.ObservedReplacement) (string, error) {
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO templates (id, name, organization, active_version_id, created_at, observed_from) VALUES (?, ?, ?, '', ?, ?)
		ON CONFLICT (organization, name) DO NOTHING`), uuid.NewString(), in.Template, in.Organization, us(in.Now), reconcile.ObservedFromCoder); err != nil {
		return "", fmt.Errorf("record template: %w", err)
	}
	var id string
	if err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM templates WHERE organization = ? AND name = ?`), in.Organization, in.Template).Scan(&id); err != nil {
		return "", fmt.Errorf("read template: %w", err)
	}
	return id, nil
}

func (s *Store) observeVersion(ctx context.Context, tx *sql.Tx, templateID string, in reconcile.ObservedReplacement) (string, error) {
	if in.Version == "" {
		return "", nil
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO template_versions (id, template_id, name, deprecated, created_at) VALUES (?, ?, ?, 0, ?)
		ON CONFLICT (template_id, name) DO NOTHING`), uuid.NewString(), templateID, in.Version, us(in.Now)); err != nil {
		return "", fmt.Errorf("record template version: %w", err)
	}
	var id string
	if err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM template_versions WHERE template_id = ? AND name = ?`), templateID, in.Version).Scan(&id); err != nil {
		return "", fmt.Errorf("read template version: %w", err)
	}
	// Coder's latest version is the active one of a template claimdrift
	// only observes; claimdrift's own templates keep theirs.
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE templates SET active_version_id = ? WHERE id = ? AND observed_from <> ''`), id, templateID); err != nil {
		return "", fmt.Errorf("record active version: %w", err)
	}
	return id, nil
}

func (s *Store) observePreset(ctx context.Context, tx *sql.Tx, templateID string, in reconcile.ObservedReplacement) (string, error) {
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO presets (id, template_id, name, parameters, desired_instances, status, created_at, observed_from)
		VALUES (?, ?, ?, '{}', 0, 'healthy', ?, ?) ON CONFLICT (template_id, name) DO NOTHING`),
		uuid.NewString(), templateID, in.Preset, us(in.Now), reconcile.ObservedFromCoder); err != nil {
		return "", fmt.Errorf("record preset: %w", err)
	}
	var id string
	if err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM presets WHERE template_id = ? AND name = ?`), templateID, in.Preset).Scan(&id); err != nil {
		return "", fmt.Errorf("read preset: %w", err)
	}
	return id, nil
}
