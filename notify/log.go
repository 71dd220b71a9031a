package notify

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
)

// LogTransport writes each message for the default recipient ("") as one
// structured log record. Messages for stored recipients (webhooks, email)
// are refused with ErrNoTransport, so a dispatcher that only logs never
// consumes them: they stay queued for one that can deliver them.
type LogTransport struct {
	logger *slog.Logger
}

// NewLogTransport returns a transport that logs to logger.
func NewLogTransport(logger *slog.Logger) *LogTransport {
	return &LogTransport{logger: logger}
}

// Send logs the message at info level.
func (t *LogTransport) Send(ctx context.Context, m Message) error {
	if m.Recipient != "" {
		return fmt.Errorf("log transport delivers the default recipient only, not %s: %w", m.Recipient, ErrNoTransport)
	}
	n := m.Notification
	resources := make([]any, 0, len(n.Replacements))
	for i, r := range n.Replacements {
		resources = append(resources, slog.Group(strconv.Itoa(i),
			slog.String("resource", r.Resource),
			slog.String("reason", r.Reason),
			slog.Any("paths", r.Paths),
		))
	}
	attrs := []any{
		slog.String("schema", Schema),
		slog.String("kind", string(n.Kind)),
		slog.String("dedup_key", m.DedupKey),
		slog.String("title", n.Title()),
		slog.String("organization", n.Organization),
		slog.String("template", n.Template),
		slog.String("template_version", n.Version),
		slog.String("preset", n.Preset),
	}
	if n.Kind == KindResourceReplaced {
		attrs = append(attrs,
			slog.String("workspace", n.Workspace),
			slog.String("workspace_id", n.WorkspaceID.String()),
			slog.String("claimant", n.Claimant),
			slog.String("build_id", n.BuildID.String()),
			slog.Group("replacements", resources...),
		)
		if fix := n.IgnoreChangesFix(); fix != "" {
			attrs = append(attrs, slog.String("fix", fix))
		}
	}
	if n.Reason != "" {
		attrs = append(attrs, slog.String("reason", n.Reason))
	}
	if n.Link != "" {
		attrs = append(attrs, slog.String("link", n.Link))
	}
	t.logger.InfoContext(ctx, "claimdrift notification", attrs...)
	return nil
}
