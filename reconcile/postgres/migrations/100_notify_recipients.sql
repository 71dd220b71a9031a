-- Notification recipients (issue 6): per template, per organization, or
-- the default. secret is a webhook signing secret and is never printed.
CREATE TABLE notify_recipients (
	id TEXT PRIMARY KEY,
	scope TEXT NOT NULL,
	template_id TEXT NOT NULL DEFAULT '',
	organization TEXT NOT NULL DEFAULT '',
	channel TEXT NOT NULL,
	address TEXT NOT NULL,
	secret TEXT NOT NULL DEFAULT '',
	payload TEXT NOT NULL DEFAULT 'generic',
	created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX notify_recipients_unique ON notify_recipients (scope, template_id, organization, channel, address);
CREATE INDEX outbox_recipient ON outbox (recipient, status);
