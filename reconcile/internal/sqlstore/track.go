package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/google/uuid"
)

// TrackReplacements implements reconcile.Store. One query reads what
// the track needs (the build, else its workspace, else the preset, and
// the notification recipients when the track may notify); the writes then
// go out as one batch (execBatch). Where the batch is one
// statement (PostgreSQL, below maxBatchParams) that statement is the
// whole write, atomic on its own: no transaction is opened, which saves
// its BEGIN and COMMIT round trips. A lost race with an identical track
// fails on a unique key and is run again, as a transaction would be.
func (s *Store) TrackReplacements(ctx context.Context, req reconcile.TrackRequest) (reconcile.TrackResult, error) {
	if err := reconcile.ValidateOptionalName("claimant", req.Claimant); err != nil {
		return reconcile.TrackResult{}, err
	}
	var res reconcile.TrackResult
	if s.d.WritableCTE {
		err := s.retrying(ctx, func() (err error) {
			res, err = s.track(ctx, s.db, req, true)
			return err
		})
		if !errors.Is(err, errNotOneStatement) {
			return res, err
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		res, err = s.track(s.withTx(ctx, tx), tx, req, false)
		return err
	})
	return res, err
}

// errNotOneStatement stops a track that was to write in one statement
// and has more to write than one takes (nothing is written then).
var errNotOneStatement = errors.New("the writes take more than one statement")

// track reads and writes a track through q; with oneStatement its writes
// must fit one statement (else errNotOneStatement, before any write).
func (s *Store) track(ctx context.Context, q querier, req reconcile.TrackRequest, oneStatement bool) (res reconcile.TrackResult, err error) {
	t, ok := s.takePrefetch(ctx, req, oneStatement)
	if !ok {
		if t, err = s.readTrackTarget(ctx, q, req, req.Notify != nil && len(req.Replacements) > 0, ""); err != nil {
			return res, err
		}
	}
	if t.withRecipients {
		// The notification callback's ListRecipients answers from here.
		ctx = context.WithValue(ctx, recipientsKey{s}, t.recipients)
	}
	var ws []write
	switch {
	case t.build != nil:
		res.Build = t.build.bc
	case t.workspace != nil, t.preset != nil:
		res.Build, ws = claimBuildWrites(req, t)
	case req.PresetID == uuid.Nil:
		return res, fmt.Errorf("workspace %s and build %s are unknown (pass the preset to record them): %w", req.WorkspaceID, req.BuildID, reconcile.ErrNotFound)
	default:
		return res, fmt.Errorf("preset %s: %w", req.PresetID, reconcile.ErrNotFound)
	}
	if res.Build.WorkspaceID != req.WorkspaceID {
		return res, fmt.Errorf("build %s belongs to workspace %s, not %s: %w", req.BuildID, res.Build.WorkspaceID, req.WorkspaceID, reconcile.ErrNotFound)
	}
	if t.build != nil && t.build.extra != 0 {
		// Tracked before: the same answer, nothing written.
		res.Recorded, err = s.buildReplacements(ctx, q, req.BuildID)
		res.Replacements = len(res.Recorded)
		return res, err
	}
	res.New = true
	if res.Replacements, res.Queued, err = s.writeTracked(ctx, q, ws, res.Build, req.Replacements, nil, req.Now, req.Notify, oneStatement); err != nil {
		return res, err
	}
	res.Recorded = reconcile.RecordedReplacements(req.Replacements)
	return res, nil
}

// writeTracked records bc's build as tracked with reps (asGiven: paths
// kept as given) after the writes in before, all in one batch, and when
// reps is not empty queues the messages messagesFor returns for bc (it
// reads through ctx). An untracked build has no replacements recorded
// (they are only written with its tracked_builds row), so all of reps are
// news. It returns how many replacements were recorded and how many
// messages queued. With oneStatement the batch must fit one statement
// (else errNotOneStatement, before any write).
func (s *Store) writeTracked(ctx context.Context, q querier, before []write, bc reconcile.BuildContext, reps []analyzer.Replacement, asGiven map[string]bool,
	now time.Time, messagesFor func(context.Context, reconcile.BuildContext) ([]notify.Message, error), oneStatement bool) (recorded, queued int, err error) {
	ws := append(before, write{"record tracked build", `INSERT INTO tracked_builds (build_id, workspace_id, replacements, tracked_at) VALUES (?, ?, ?, ?)`,
		[]any{bc.BuildID.String(), bc.WorkspaceID.String(), len(reps), us(now)}})
	first := len(ws)
	repWrites, err := replacementWrites(bc.BuildID, bc.WorkspaceID, reps, asGiven, now)
	if err != nil {
		return 0, 0, err
	}
	ws = append(ws, repWrites...)
	if len(reps) > 0 && messagesFor != nil {
		msgs, err := messagesFor(ctx, bc)
		if err != nil {
			return 0, 0, err
		}
		queued = len(msgs)
		out, err := outboxWrites(msgs, now)
		if err != nil {
			return 0, 0, err
		}
		ws = append(ws, out...)
	}
	if oneStatement && params(ws) > maxBatchParams {
		return 0, 0, errNotOneStatement
	}
	counts, err := s.execBatch(ctx, q, ws)
	if err != nil {
		return 0, 0, err
	}
	for _, n := range counts[first : first+len(repWrites)] {
		recorded += int(n)
	}
	return recorded, queued, nil
}

// replacementCols are the columns replacementWrites writes per row.
const replacementCols = `build_id, resource, deposed, workspace_id, module, type, name, provider, reason, replace_order, paths, changes, paths_as_given, created_at`

// replacementWrites are the multi-row inserts that record a build's
// replacements (asGiven names those whose paths are kept as given); each
// affects as many rows as it records new.
func replacementWrites(buildID, workspaceID uuid.UUID, reps []analyzer.Replacement, asGiven map[string]bool, now time.Time) ([]write, error) {
	var out []write
	for len(reps) > 0 {
		batch := reps[:min(len(reps), insertBatch)]
		reps = reps[len(batch):]
		args := make([]any, 0, 14*len(batch))
		for _, r := range batch {
			paths := r.Paths
			if paths == nil {
				paths = []string{}
			}
			pathsJSON, err := json.Marshal(paths)
			if err != nil {
				return nil, err
			}
			changes := r.Changes
			if changes == nil {
				changes = []analyzer.Change{}
			}
			changesJSON, err := json.Marshal(changes)
			if err != nil {
				return nil, err
			}
			args = append(args, buildID.String(), r.Resource, r.Deposed, workspaceID.String(), r.Module, r.Type, r.Name, r.Provider, r.Reason, r.Order,
				string(pathsJSON), string(changesJSON), b2i(asGiven[r.Resource]), us(now))
		}
		out = append(out, write{"record replacements", `INSERT INTO replacements (` + replacementCols + `) VALUES ` +
			repeatTuple(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, len(batch)) + ` ON CONFLICT (build_id, resource, deposed) DO NOTHING`, args})
	}
	return out, nil
}

// trackTarget is what readTrackTarget found: the build, else (nil build)
// its workspace, and the preset the request names (nil when none or
// unknown); and, when asked (withRecipients), every notification
// recipient.
type trackTarget struct {
	build, workspace, preset *targetRow
	withRecipients           bool
	recipients               []notify.Recipient
	// token is the API token read with the target (PrefetchTrack); nil
	// when none has the hash, or none was asked for.
	token *reconcile.APIToken
}

// targetRow is one row of trackTargetQuery: a build context (for a
// workspace or preset, what a claim build of it would name) and extra:
// whether the build was tracked (build), the next build number
// (workspace).
type targetRow struct {
	bc    reconcile.BuildContext
	extra int64
}

// trackTargetQuery reads, in one round trip, the build with its context
// and whether it was tracked; the workspace with its active version,
// preset (its own, else the request's) and next build number; and the
// request's preset with its template's active version. Each part is a
// lookup by primary key: at most three rows.
const trackTargetQuery = `SELECT 'build', b.id, b.stage, b.initiator, w.id, w.name, w.owner, t.id, t.name, t.organization,
		COALESCE(v.id, ''), COALESCE(v.name, ''), COALESCE(p.id, ''), COALESCE(p.name, ''),
		CASE WHEN EXISTS (SELECT 1 FROM tracked_builds tb WHERE tb.build_id = b.id) THEN 1 ELSE 0 END
	FROM builds b JOIN workspaces w ON w.id = b.workspace_id JOIN templates t ON t.id = w.template_id
	LEFT JOIN template_versions v ON v.id = b.template_version_id LEFT JOIN presets p ON p.id = b.preset_id
	WHERE b.id = ?
	UNION ALL
	SELECT 'workspace', '', '', '', w.id, w.name, w.owner, t.id, t.name, t.organization,
		t.active_version_id, COALESCE(v.name, ''), CASE WHEN w.preset_id <> '' THEN w.preset_id ELSE ? END, COALESCE(p.name, ''),
		COALESCE((SELECT MAX(n.number) FROM builds n WHERE n.workspace_id = w.id), 0) + 1
	FROM workspaces w JOIN templates t ON t.id = w.template_id
	LEFT JOIN template_versions v ON v.id = t.active_version_id
	LEFT JOIN presets p ON p.id = CASE WHEN w.preset_id <> '' THEN w.preset_id ELSE ? END
	WHERE w.id = ?
	UNION ALL
	SELECT 'preset', '', '', '', '', '', '', t.id, t.name, t.organization, t.active_version_id, COALESCE(v.name, ''), p.id, p.name, 0
	FROM presets p JOIN templates t ON t.id = p.template_id LEFT JOIN template_versions v ON v.id = t.active_version_id
	WHERE p.id = ?`

// trackRecipientsPart extends trackTargetQuery, for a track that may
// notify, with every notification recipient: the rows ListRecipients
// reads (recipientCols), in the target rows' columns: its text in the
// first nine after the kind, its creation time in the last. That saves the
// round trip of the recipients' own read on every claim build's track,
// and reads them in the same snapshot as the build.
const trackRecipientsPart = `
	UNION ALL
	SELECT 'recipient', ` + recipientText + `, '', '', '', '', r.created_at` + recipientFrom

// trackTokenPart extends trackTargetQuery, for PrefetchTrack, with the
// API token of a hash (tokenCols, in the target rows' columns: its text in
// the first five after the kind, its revocation time as text, its
// creation time in the last).
const trackTokenPart = `
	UNION ALL
	SELECT 'token', id, name, scopes, hash, CAST(revoked_at AS TEXT), '', '', '', '', '', '', '', '', created_at FROM api_tokens WHERE hash = ?`

// readTrackTarget reads what a track's build is, or would be, with
// recipients every notification recipient, in recipientOrder, and with a
// tokenHash the API token that has it.
func (s *Store) readTrackTarget(ctx context.Context, q querier, req reconcile.TrackRequest, recipients bool, tokenHash string) (trackTarget, error) {
	t := trackTarget{withRecipients: recipients}
	preset := idText(req.PresetID)
	query := trackTargetQuery
	args := []any{req.BuildID.String(), preset, preset, req.WorkspaceID.String(), preset}
	if recipients {
		query += trackRecipientsPart
	}
	if tokenHash != "" {
		query += trackTokenPart
		args = append(args, tokenHash)
	}
	rows, err := q.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return t, fmt.Errorf("read build: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r targetRow
		var kind, bid, stage, wid, tid, vid, pid string
		if err := rows.Scan(&kind, &bid, &stage, &r.bc.Initiator, &wid, &r.bc.WorkspaceName, &r.bc.Owner, &tid, &r.bc.Template, &r.bc.Organization,
			&vid, &r.bc.Version, &pid, &r.bc.Preset, &r.extra); err != nil {
			return t, fmt.Errorf("read build: %w", err)
		}
		if kind == "token" {
			// tokenCols, in the order trackTokenPart puts them.
			revoked, err := strconv.ParseInt(r.bc.WorkspaceName, 10, 64)
			if err != nil {
				return t, fmt.Errorf("read token: revoked_at %q: %w", r.bc.WorkspaceName, err)
			}
			tok := tokenFrom(bid, stage, r.bc.Initiator, wid, r.extra, revoked)
			t.token = &tok
			continue
		}
		if kind == "recipient" {
			// recipientCols, in the order trackRecipientsPart puts them.
			t.recipients = append(t.recipients, s.recipient(recipientRow{id: bid, scope: stage, templateID: r.bc.Initiator, template: wid,
				organization: r.bc.WorkspaceName, channel: r.bc.Owner, address: tid, secret: r.bc.Template, payload: r.bc.Organization, created: r.extra}))
			continue
		}
		r.bc.BuildID, r.bc.WorkspaceID, r.bc.TemplateID, r.bc.VersionID, r.bc.PresetID = parseID(bid), parseID(wid), parseID(tid), parseID(vid), parseID(pid)
		r.bc.Stage = reconcile.Stage(stage)
		switch kind {
		case "build":
			t.build = &r
		case "workspace":
			t.workspace = &r
		case "preset":
			t.preset = &r
		}
	}
	if err := rows.Err(); err != nil {
		return t, fmt.Errorf("read build: %w", err)
	}
	slices.SortFunc(t.recipients, recipientOrder)
	return t, nil
}

// trackPrefetch is a track's read made ahead of it by PrefetchTrack, for
// the first attempt of a track of the same build, workspace and preset.
type trackPrefetch struct {
	build, workspace, preset uuid.UUID
	target                   trackTarget
	used                     bool
}

// prefetchKey marks a context carrying a *trackPrefetch.
type prefetchKey struct{ s *Store }

// PrefetchTrack reads the API token that has hash and, in the same
// statement, what a track of req's build reads: the build, else its
// workspace, else the preset, and every notification recipient. The
// service's track route so checks the token and reads the track's target
// in one round trip, before the plan streams in; the context it returns
// carries that read to the first attempt of the track (TrackReplacements
// with the same build, workspace and preset), whose writes then follow
// at once. A retry reads again, as it would anyway: the writes' unique
// keys catch what changed in between, as they catch a concurrent track.
//
// The token is ErrNotFound when no token has the hash. ok is false, and
// nothing is read, on a store whose track runs in a write transaction
// (SQLite): its read must be that transaction's.
func (s *Store) PrefetchTrack(ctx context.Context, hash string, req reconcile.TrackRequest) (_ context.Context, _ reconcile.APIToken, ok bool, _ error) {
	if !s.d.WritableCTE {
		return ctx, reconcile.APIToken{}, false, nil
	}
	t, err := s.readTrackTarget(ctx, s.db, req, true, hash)
	if err != nil {
		return ctx, reconcile.APIToken{}, true, err
	}
	if t.token == nil {
		return ctx, reconcile.APIToken{}, true, reconcile.ErrNotFound
	}
	tok := *t.token
	t.token = nil
	return context.WithValue(ctx, prefetchKey{s}, &trackPrefetch{build: req.BuildID, workspace: req.WorkspaceID, preset: req.PresetID, target: t}), tok, true, nil
}

// takePrefetch returns, once, the target PrefetchTrack read for req, for
// a track that writes in one statement outside a transaction (the read
// could not be part of one).
func (s *Store) takePrefetch(ctx context.Context, req reconcile.TrackRequest, oneStatement bool) (trackTarget, bool) {
	p, _ := ctx.Value(prefetchKey{s}).(*trackPrefetch)
	if p == nil || p.used || !oneStatement {
		return trackTarget{}, false
	}
	p.used = true
	if p.build != req.BuildID || p.workspace != req.WorkspaceID || p.preset != req.PresetID {
		return trackTarget{}, false
	}
	return p.target, true
}

// claimBuildWrites records an unknown build (and its workspace when
// unknown too: t.workspace nil, t.preset set) as a succeeded claim, so the
// provisioner hook works for builds claimdrift did not start. It returns
// the build's context as written and the writes. A new workspace is
// written already pointing at its build; a known one is pointed at it.
func claimBuildWrites(req reconcile.TrackRequest, t trackTarget) (reconcile.BuildContext, []write) {
	bc := t.preset.orNil()
	number := int64(1)
	if t.workspace != nil {
		bc, number = t.workspace.bc, t.workspace.extra
	} else {
		bc.WorkspaceID = req.WorkspaceID
		bc.WorkspaceName = "workspace-" + req.WorkspaceID.String()[:8]
		if bc.Owner = req.Claimant; bc.Owner == "" {
			bc.Owner = "unknown"
		}
	}
	bc.BuildID, bc.Stage = req.BuildID, reconcile.StageClaim
	if bc.Initiator = req.Claimant; bc.Initiator == "" {
		bc.Initiator = bc.Owner
	}
	b := reconcile.Build{ID: req.BuildID, WorkspaceID: req.WorkspaceID, Number: int(number), TemplateVersionID: bc.VersionID, PresetID: bc.PresetID,
		Transition: reconcile.TransitionStart, Status: reconcile.BuildSucceeded, Stage: reconcile.StageClaim, Initiator: bc.Initiator,
		CreatedAt: req.Now, StartedAt: req.Now, CompletedAt: req.Now}
	var ws []write
	latest := []any{b.ID.String(), string(b.Transition), idText(b.TemplateVersionID), outcome(b.Status), outcomeAt(b.Status, b.CompletedAt)}
	if t.workspace == nil {
		ws = append(ws, write{"record workspace", `INSERT INTO workspaces (id, name, owner, template_id, preset_id, created_at, claimed_at,
			latest_build_id, latest_build_transition, latest_build_version_id, latest_build_outcome, latest_build_completed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			append([]any{req.WorkspaceID.String(), bc.WorkspaceName, bc.Owner, bc.TemplateID.String(), bc.PresetID.String(), us(req.Now), us(req.Now)}, latest...)})
	} else {
		ws = append(ws, write{"point workspace at its latest build", `UPDATE workspaces SET latest_build_id = ?, latest_build_transition = ?, latest_build_version_id = ?,
			latest_build_outcome = ?, latest_build_completed_at = ? WHERE id = ?`, append(latest, req.WorkspaceID.String())})
	}
	ws = append(ws, write{"insert build", `INSERT INTO builds (` + buildInsertCols + `) VALUES ` + buildInsertTuple, buildInsertArgs(b)})
	return bc, ws
}

// orNil is r's context, or the zero context when r is nil.
func (r *targetRow) orNil() reconcile.BuildContext {
	if r == nil {
		return reconcile.BuildContext{}
	}
	return r.bc
}

// buildReplacements reads a build's recorded replacements, in the order
// RecordedReplacements gives.
func (s *Store) buildReplacements(ctx context.Context, q querier, buildID uuid.UUID) ([]reconcile.HistoryReplacement, error) {
	byBuild, err := s.replacementsOf(ctx, q, []any{buildID.String()})
	return byBuild[buildID.String()], err
}

// replacementsOf reads the recorded replacements of builds (ids), by
// build, each build's in reconcile.RecordedOrder.
func (s *Store) replacementsOf(ctx context.Context, q querier, ids []any) (map[string][]reconcile.HistoryReplacement, error) {
	out := map[string][]reconcile.HistoryReplacement{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.QueryContext(ctx, s.q(`SELECT build_id, resource, deposed, type, reason, replace_order, paths, changes, paths_as_given FROM replacements
		WHERE build_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`), ids...)
	if err != nil {
		return nil, fmt.Errorf("read replacements: %w", err)
	}
	defer rows.Close()
	type row struct {
		r       reconcile.HistoryReplacement
		deposed string
	}
	byBuild := map[string][]row{}
	for rows.Next() {
		var x row
		var bid, paths, changes string
		var asGiven int
		if err := rows.Scan(&bid, &x.r.Resource, &x.deposed, &x.r.Type, &x.r.Reason, &x.r.Order, &paths, &changes, &asGiven); err != nil {
			return nil, err
		}
		x.r.PathsAsGiven = asGiven != 0
		if err := json.Unmarshal([]byte(paths), &x.r.Paths); err != nil {
			return nil, fmt.Errorf("replacement paths of build %s: %w", bid, err)
		}
		if err := json.Unmarshal([]byte(changes), &x.r.Changes); err != nil {
			return nil, fmt.Errorf("replacement changes of build %s: %w", bid, err)
		}
		byBuild[bid] = append(byBuild[bid], x)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for bid, rs := range byBuild {
		slices.SortFunc(rs, func(a, b row) int { return reconcile.RecordedOrder(a.r.Resource, a.deposed, b.r.Resource, b.deposed) })
		list := make([]reconcile.HistoryReplacement, len(rs))
		for i, x := range rs {
			list[i] = x.r
		}
		out[bid] = list
	}
	return out, nil
}

// buildContextQuery reads what a build's notifications name, with extra
// columns after (each starting with a comma).
func buildContextQuery(extra string) string {
	return `SELECT b.id, b.stage, b.initiator, w.id, w.name, w.owner, t.id, t.name, t.organization,
			COALESCE(v.id, ''), COALESCE(v.name, ''), COALESCE(p.id, ''), COALESCE(p.name, '')` + extra + `
		FROM builds b JOIN workspaces w ON w.id = b.workspace_id JOIN templates t ON t.id = w.template_id
		LEFT JOIN template_versions v ON v.id = b.template_version_id
		LEFT JOIN presets p ON p.id = b.preset_id
		WHERE b.id = ?`
}

// scanBuildContext scans a buildContextQuery row (extra into extra);
// ErrNotFound when there is none.
func (s *Store) scanBuildContext(row *sql.Row, buildID uuid.UUID, extra ...any) (reconcile.BuildContext, error) {
	var bc reconcile.BuildContext
	var bid, wid, tid, vid, pid, stage string
	dest := append([]any{&bid, &stage, &bc.Initiator, &wid, &bc.WorkspaceName, &bc.Owner, &tid, &bc.Template, &bc.Organization, &vid, &bc.Version, &pid, &bc.Preset}, extra...)
	err := row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return bc, fmt.Errorf("build %s: %w", buildID, reconcile.ErrNotFound)
	}
	if err != nil {
		return bc, fmt.Errorf("read build: %w", err)
	}
	bc.BuildID, bc.WorkspaceID, bc.TemplateID, bc.VersionID, bc.PresetID = parseID(bid), parseID(wid), parseID(tid), parseID(vid), parseID(pid)
	bc.Stage = reconcile.Stage(stage)
	return bc, nil
}

func (s *Store) buildContext(ctx context.Context, q querier, buildID uuid.UUID) (reconcile.BuildContext, error) {
	return s.scanBuildContext(q.QueryRowContext(ctx, s.q(buildContextQuery("")), buildID.String()), buildID)
}

// Counters implements reconcile.Store.
func (s *Store) Counters(ctx context.Context) ([]reconcile.PresetCounters, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT b.preset_id,
			SUM(CASE WHEN b.stage = 'prebuild' AND b.transition = 'start' AND b.status = 'succeeded' THEN 1 ELSE 0 END),
			SUM(CASE WHEN b.stage = 'prebuild' AND b.transition = 'start' AND b.status = 'failed' THEN 1 ELSE 0 END),
			SUM(CASE WHEN b.stage = 'claim' AND b.status <> 'canceled' THEN 1 ELSE 0 END),
			SUM(CASE WHEN b.stage = 'claim' AND EXISTS (SELECT 1 FROM replacements r WHERE r.build_id = b.id) THEN 1 ELSE 0 END)
		FROM builds b WHERE b.preset_id <> '' GROUP BY b.preset_id ORDER BY b.preset_id`)
	if err != nil {
		return nil, fmt.Errorf("count builds: %w", err)
	}
	defer rows.Close()
	var out []reconcile.PresetCounters
	for rows.Next() {
		var pid string
		var c reconcile.PresetCounters
		if err := rows.Scan(&pid, &c.Created, &c.Failed, &c.Claimed, &c.ClaimsReplaced); err != nil {
			return nil, err
		}
		c.PresetID = parseID(pid)
		out = append(out, c)
	}
	return out, rows.Err()
}

// RecordPassDuration implements reconcile.Store.
func (s *Store) RecordPassDuration(ctx context.Context, d time.Duration, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO reconciler_state (key, value, updated_at) VALUES ('last_pass_duration_us', ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`), strconv.FormatInt(d.Microseconds(), 10), us(at))
	if err != nil {
		return fmt.Errorf("record pass duration: %w", err)
	}
	return nil
}

// LastPassDuration implements reconcile.Store.
func (s *Store) LastPassDuration(ctx context.Context) (time.Duration, time.Time, error) {
	var v string
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT value, updated_at FROM reconciler_state WHERE key = 'last_pass_duration_us'`).Scan(&v, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read pass duration: %w", err)
	}
	n, _ := strconv.ParseInt(v, 10, 64)
	return time.Duration(n) * time.Microsecond, fromUS(at), nil
}
