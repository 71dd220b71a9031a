package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/analyzer/render"
	"github.com/claimdrift/claimdrift/reconcile"
)

// TrackAnswer is the answer to a plan upload: the replacements recorded
// for the build. Tracking the same build again gives the same answer.
type TrackAnswer struct {
	WorkspaceID  uuid.UUID                      `json:"workspace_id"`
	BuildID      uuid.UUID                      `json:"build_id"`
	Organization string                         `json:"organization"`
	Template     string                         `json:"template"`
	Preset       string                         `json:"preset"`
	Recorded     int                            `json:"replacements_recorded"`
	Replacements []reconcile.HistoryReplacement `json:"replacements"`
}

// ClaimAnswer is the answer to a claim (201).
type ClaimAnswer struct {
	WorkspaceID   uuid.UUID             `json:"workspace_id"`
	WorkspaceName string                `json:"workspace_name"`
	Owner         string                `json:"owner"`
	BuildID       uuid.UUID             `json:"build_id"`
	BuildStatus   reconcile.BuildStatus `json:"build_status"`
	PresetID      uuid.UUID             `json:"preset_id"`
	Preset        string                `json:"preset"`
	Template      string                `json:"template"`
	// Replacements is how many resources the claim build's plan replaced
	// (with a claim command that writes one).
	Replacements int    `json:"replacements"`
	Error        string `json:"error,omitempty"`
}

// ClaimBody is the body of a claim.
type ClaimBody struct {
	User string `json:"user"`
	Name string `json:"name"`
}

// HistoryAnswer is the answer of GET /api/v1/replacements.
type HistoryAnswer struct {
	History []reconcile.HistoryEntry `json:"history"`
}

// planError answers an error reading a plan body: 413 above the limit,
// 400 for what is not a readable plan.
func (s *Server) planError(w http.ResponseWriter, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("plan larger than the limit of %d bytes (--max-plan-bytes)", tooBig.Limit))
		return
	}
	writeError(w, http.StatusBadRequest, "read plan: "+err.Error())
}

// trackIdentity is the build, workspace and preset a track request names,
// when the URL gives them as ids (known); a preset given by name, or an id
// that does not parse, is not known here.
func trackIdentity(r *http.Request) (req reconcile.TrackRequest, known bool) {
	ws, err1 := uuid.Parse(r.PathValue("workspace_id"))
	build, err2 := uuid.Parse(r.PathValue("build_id"))
	if err1 != nil || err2 != nil {
		return req, false
	}
	req.WorkspaceID, req.BuildID = ws, build
	q := r.URL.Query()
	if p := q.Get("preset"); p != "" {
		id, err := uuid.Parse(p)
		if err != nil || q.Get("template") != "" {
			return req, false
		}
		req.PresetID = id
	}
	return req, true
}

func (s *Server) trackPlan(w http.ResponseWriter, r *http.Request) {
	ws, err := uuid.Parse(r.PathValue("workspace_id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("workspace id %q: want a UUID", r.PathValue("workspace_id")))
		return
	}
	build, err := uuid.Parse(r.PathValue("build_id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("build id %q: want a UUID", r.PathValue("build_id")))
		return
	}
	q := r.URL.Query()
	req := reconcile.TrackRequest{WorkspaceID: ws, BuildID: build, Claimant: q.Get("user"), Now: s.opts.Now()}
	if p := q.Get("preset"); p != "" {
		key := p
		if t := q.Get("template"); t != "" {
			key = t + "/" + p
		}
		if id, err := uuid.Parse(key); err == nil {
			// An id goes to the store as it is: the store reads the
			// preset with the build, and answers not found when it would
			// record a new workspace under an unknown one.
			req.PresetID = id
		} else {
			if err := s.admit.enter(r.Context()); err != nil {
				return // the client is gone
			}
			pi, err := s.findPreset(r, key)
			s.admit.leave()
			if err != nil {
				s.presetError(w, r, err)
				return
			}
			req.PresetID = pi.Preset.ID
		}
	}
	// No turn is held while the plan streams in.
	rep, err := analyzer.Analyze(http.MaxBytesReader(w, r.Body, s.opts.MaxPlanBytes), analyzer.Options{})
	if err != nil {
		s.planError(w, err)
		return
	}
	req.Replacements = rep.Replacements
	if err := s.admit.enter(r.Context()); err != nil {
		return // the client is gone
	}
	res, err := s.pool.Track(r.Context(), req)
	s.admit.leave()
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	ans := TrackAnswer{WorkspaceID: ws, BuildID: build, Organization: res.Build.Organization, Template: res.Build.Template, Preset: res.Build.Preset,
		Recorded: res.Replacements, Replacements: res.Recorded}
	if ans.Replacements == nil {
		ans.Replacements = []reconcile.HistoryReplacement{}
	}
	if !res.New {
		w.Header().Set("X-Claimdrift-Already-Tracked", "true")
	}
	writeJSON(w, http.StatusOK, ans)
}

func (s *Server) analyze(w http.ResponseWriter, r *http.Request) {
	opts := analyzer.Options{Ignore: r.URL.Query()["ignore"]}
	rep, err := analyzer.Analyze(http.MaxBytesReader(w, r.Body, s.opts.MaxPlanBytes), opts)
	if err != nil {
		s.planError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := render.JSON(w, rep); err != nil {
		s.log.ErrorContext(r.Context(), "write report", "error", err.Error())
	}
}

// findPreset resolves a preset id or "template/preset" by key, never
// reading the whole list.
func (s *Server) findPreset(r *http.Request, key string) (reconcile.PresetInfo, error) {
	if id, err := uuid.Parse(key); err == nil {
		return s.store.PresetByID(r.Context(), id)
	}
	tmpl, preset, ok := strings.Cut(key, "/")
	if !ok || tmpl == "" || preset == "" {
		return reconcile.PresetInfo{}, errBadPresetKey{key}
	}
	return s.store.PresetByName(r.Context(), tmpl, preset)
}

type errBadPresetKey struct{ key string }

func (e errBadPresetKey) Error() string {
	return fmt.Sprintf("preset %q: want a preset id or template/preset", e.key)
}

func (s *Server) presetError(w http.ResponseWriter, r *http.Request, err error) {
	var bad errBadPresetKey
	if errors.As(err, &bad) {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.storeError(w, r, err)
}

func (s *Server) claim(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("preset")
	if t := r.PathValue("template"); t != "" {
		key = t + "/" + key
	}
	var body ClaimBody
	if err := decodeJSON(w, r, &body); err != nil {
		return
	}
	if strings.TrimSpace(body.User) == "" {
		writeError(w, http.StatusBadRequest, `"user" is required`)
		return
	}
	// A claim without a claim command is database work only: it waits
	// its turn as a whole. One that runs a command (minutes of apply) must
	// not hold a turn meanwhile.
	gated := !s.pool.RunsClaims()
	if gated {
		if err := s.admit.enter(r.Context()); err != nil {
			return // the client is gone
		}
	}
	// A preset id goes to the claim as it is (the store reads the preset
	// with its prebuild and answers not found); a name is resolved first.
	id, presetErr := uuid.Parse(key)
	var named *reconcile.PresetInfo // the preset as the name resolved it
	if presetErr != nil {
		var pi reconcile.PresetInfo
		if pi, presetErr = s.findPreset(r, key); presetErr == nil {
			id, named = pi.Preset.ID, &pi
		}
	}
	var res reconcile.ClaimResult
	var err error
	if presetErr == nil {
		res, err = s.pool.Claim(r.Context(), body.User, body.Name, id)
	}
	if gated {
		s.admit.leave()
	}
	if presetErr != nil {
		s.presetError(w, r, presetErr)
		return
	}
	if errors.Is(err, reconcile.ErrNoClaimablePrebuilds) {
		if named == nil {
			if pi, err := s.findPreset(r, id.String()); err == nil {
				named = &pi
			}
		}
		msg := fmt.Sprintf("preset %s has no ready prebuild to claim", key)
		if named != nil {
			msg = fmt.Sprintf("preset %s of template %s has no ready prebuild to claim", named.Preset.Name, named.Template.Name)
		}
		writeError(w, http.StatusConflict, msg)
		return
	}
	if err != nil && res.Claimed.Workspace.ID == uuid.Nil {
		s.storeError(w, r, err)
		return
	}
	ans := ClaimAnswer{WorkspaceID: res.Claimed.Workspace.ID, WorkspaceName: res.Claimed.Workspace.Name, Owner: res.Claimed.Workspace.Owner,
		BuildID: res.Claimed.Build.ID, BuildStatus: res.BuildStatus, PresetID: id, Preset: res.Claimed.Preset, Template: res.Claimed.Template}
	if res.Track != nil {
		ans.Replacements = res.Track.Replacements
	}
	if err != nil {
		// The workspace is the user's; its claim build failed.
		ans.Error = err.Error()
	}
	writeJSON(w, http.StatusCreated, ans)
}

// decodeJSON reads a small JSON body into v, answering 400 or 413 itself.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBytes))
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("unexpected data after the JSON value")
	}
	if err == nil {
		return nil
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", tooBig.Limit))
		return err
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("empty body")
	}
	writeError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
	return err
}

func (s *Server) presets(w http.ResponseWriter, r *http.Request) {
	states, err := s.pool.Status(r.Context())
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if states == nil {
		states = []reconcile.PresetState{}
	}
	writeJSON(w, http.StatusOK, states)
}

func (s *Server) replacements(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	hq := reconcile.HistoryQuery{Template: q.Get("template"), Preset: q.Get("preset"), Limit: 100}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want 1 to 1000", v))
			return
		}
		hq.Limit = n
	}
	if v := q.Get("since"); v != "" {
		t, err := parseSince(v, s.opts.Now())
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		hq.Since = t
	}
	hist, err := s.store.History(r.Context(), hq)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if hist == nil {
		hist = []reconcile.HistoryEntry{}
	}
	writeJSON(w, http.StatusOK, HistoryAnswer{History: hist})
}

// parseSince reads an RFC 3339 time or a Go duration ("24h": that long ago).
func parseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("since %q: want an RFC 3339 time or a duration such as 24h", v)
}
