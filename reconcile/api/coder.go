package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/reconcile"
)

// CoderReplacedTemplateID is the id of Coder's "Prebuilt Workspace
// Resource Replaced" notification template.
const CoderReplacedTemplateID = "89d9745a-816e-4695-a17f-3d0a229e2b8d"

// CoderMessage is the envelope of Coder's webhook notifications (only
// the fields claimdrift reads).
type CoderMessage struct {
	Version string       `json:"_version"`
	MsgID   string       `json:"msg_id"`
	Payload CoderPayload `json:"payload"`
	Title   string       `json:"title"`
	Body    string       `json:"body"`
}

// CoderPayload is the payload of a Coder notification.
type CoderPayload struct {
	Version          string            `json:"_version"`
	NotificationName string            `json:"notification_name"`
	TemplateID       string            `json:"notification_template_id"`
	UserID           string            `json:"user_id"`
	UserUsername     string            `json:"user_username"`
	Labels           map[string]string `json:"labels"`
	Data             json.RawMessage   `json:"data"`
}

// coderReplacedData is the data of the replaced-resource notification:
// resource address -> its replace paths, comma-separated.
type coderReplacedData struct {
	Replacements map[string]string `json:"replacements"`
}

// ParseCoderReplacement reads a Coder notification. It returns ok=false
// (and no error) for notifications of another kind, and an error for a
// malformed body or a replaced-resource notification missing what the
// history needs.
func ParseCoderReplacement(body []byte) (reconcile.ObservedReplacement, bool, error) {
	var out reconcile.ObservedReplacement
	var m CoderMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return out, false, fmt.Errorf("not a Coder notification: %w", err)
	}
	if m.MsgID == "" {
		return out, false, errors.New("no msg_id")
	}
	if _, err := uuid.Parse(m.MsgID); err != nil {
		return out, false, fmt.Errorf("msg_id %q is not a UUID", m.MsgID)
	}
	if m.Payload.TemplateID == "" && m.Payload.NotificationName == "" {
		return out, false, errors.New("no payload.notification_template_id")
	}
	if !strings.EqualFold(m.Payload.TemplateID, CoderReplacedTemplateID) {
		return out, false, nil
	}
	l := m.Payload.Labels
	out = reconcile.ObservedReplacement{MsgID: strings.ToLower(m.MsgID), Organization: l["org"], Template: l["template"], Version: l["template_version"],
		Preset: l["preset"], Workspace: l["workspace"], Claimant: l["claimant"]}
	var missing []string
	for _, k := range []string{"template", "preset", "workspace", "claimant"} {
		if strings.TrimSpace(l[k]) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return out, false, fmt.Errorf("payload.labels lacks %s", strings.Join(missing, ", "))
	}
	if v := l["workspace_build_num"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return out, false, fmt.Errorf("payload.labels.workspace_build_num %q is not a build number", v)
		}
		out.BuildNumber = n
	}
	var data coderReplacedData
	if len(m.Payload.Data) == 0 || string(m.Payload.Data) == "null" {
		return out, false, errors.New("payload.data.replacements is missing")
	}
	if err := json.Unmarshal(m.Payload.Data, &data); err != nil {
		return out, false, fmt.Errorf("payload.data.replacements: want an object of resource address to paths: %w", err)
	}
	if len(data.Replacements) == 0 {
		return out, false, errors.New("payload.data.replacements is empty")
	}
	out.PathsAsGiven = map[string]bool{}
	for addr, paths := range data.Replacements {
		if strings.TrimSpace(addr) == "" {
			return out, false, errors.New("payload.data.replacements has an empty resource address")
		}
		rendered, asGiven := CoderPaths(paths)
		out.Replacements = append(out.Replacements, reconcile.ObservedReplacementOf(addr, rendered))
		if asGiven {
			out.PathsAsGiven[addr] = true
		}
	}
	sort.Slice(out.Replacements, func(i, j int) bool { return out.Replacements[i].Resource < out.Replacements[j].Resource })
	return out, true, nil
}

var (
	identStep = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	indexStep = regexp.MustCompile(`^(0|[1-9][0-9]{0,8})$`)
)

// CoderPaths splits Coder's comma-separated paths and renders each in
// claimdrift's syntax (metadata.0.name -> metadata[0].name) when every
// dot-separated step is an identifier or an index. Otherwise (a key that
// holds dots, slashes or spaces cannot be told from a nested path) the
// paths are kept as given and asGiven is true.
func CoderPaths(s string) (paths []string, asGiven bool) {
	var raw []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			raw = append(raw, p)
		}
	}
	out := make([]string, 0, len(raw))
	for _, p := range raw {
		steps := strings.Split(p, ".")
		path := make(analyzer.Path, 0, len(steps))
		for i, st := range steps {
			switch {
			case i > 0 && indexStep.MatchString(st):
				n, _ := strconv.Atoi(st)
				path = append(path, n)
			case identStep.MatchString(st):
				path = append(path, st)
			default:
				path = nil
			}
			if path == nil {
				break
			}
		}
		if path == nil {
			return raw, true
		}
		out = append(out, path.String())
	}
	sort.Strings(out)
	return out, false
}

func (s *Server) coderNotification(w http.ResponseWriter, r *http.Request) {
	body, err := readAll(w, r, maxJSONBytes)
	if err != nil {
		s.coderNotifications.WithLabelValues("malformed").Inc()
		return
	}
	obs, ok, err := ParseCoderReplacement(body)
	if err != nil {
		s.coderNotifications.WithLabelValues("malformed").Inc()
		writeError(w, http.StatusBadRequest, "malformed Coder notification: "+err.Error())
		return
	}
	if !ok {
		s.coderNotifications.WithLabelValues("ignored").Inc()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	obs.Now = s.opts.Now()
	if err := s.admit.enter(r.Context()); err != nil {
		return // the client is gone
	}
	res, err := s.pool.RecordObserved(r.Context(), obs)
	s.admit.leave()
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	result := "recorded"
	if !res.New {
		result = "duplicate"
	}
	s.coderNotifications.WithLabelValues(result).Inc()
	writeJSON(w, http.StatusOK, map[string]any{
		"msg_id": obs.MsgID, "recorded": res.New, "build_id": res.Build.BuildID, "workspace_id": res.Build.WorkspaceID,
		"template": res.Build.Template, "preset": res.Build.Preset, "replacements": res.Replacements,
	})
}

// readAll reads a body of at most limit bytes, answering 400 or 413 itself.
func readAll(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", tooBig.Limit))
		} else {
			writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		}
		return nil, err
	}
	return b, nil
}
