package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
)

// Schema identifies the JSON payload format. Fields may be added within v1;
// none is renamed or removed without a new identifier.
const Schema = "claimdrift.notification/v1"

// Payload is the generic JSON document sent to receivers.
type Payload struct {
	Schema string `json:"schema"`
	// DedupKey is the same for every delivery of one event to one
	// recipient; receivers drop repeats with it.
	DedupKey  string `json:"dedup_key"`
	Recipient string `json:"recipient,omitempty"`
	Title     string `json:"title"`
	Text      string `json:"text"`
	Markdown  string `json:"markdown"`
	// Fix is the ignore_changes fix, "" when there is none.
	Fix string `json:"fix,omitempty"`
	Notification
}

// DedupKey identifies one event for one recipient: (workspace, build,
// recipient) for a replacement, (preset, kind, time) for preset news.
func (n Notification) DedupKey(recipient string) string {
	h := sha256.New()
	write := func(s string) {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	write(Schema)
	write(string(n.Kind))
	switch n.Kind {
	case KindResourceReplaced:
		write(n.WorkspaceID.String())
		write(n.BuildID.String())
	default:
		write(n.PresetID.String())
		write(n.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000Z"))
	}
	write(recipient)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Payload builds the JSON payload for one recipient.
func (n Notification) Payload(recipient string) Payload {
	return Payload{
		Schema:       Schema,
		DedupKey:     n.DedupKey(recipient),
		Recipient:    recipient,
		Title:        n.Title(),
		Text:         n.Text(),
		Markdown:     n.Markdown(),
		Fix:          n.IgnoreChangesFix(),
		Notification: n,
	}
}

// MarshalPayload returns the JSON payload for one recipient.
func (n Notification) MarshalPayload(recipient string) ([]byte, error) {
	return json.Marshal(n.Payload(recipient))
}
