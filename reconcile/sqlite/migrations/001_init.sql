-- claimdrift pool schema. Times are Unix microseconds (0 = unset), ids are
-- UUID text ('' = none).
CREATE TABLE templates (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	organization TEXT NOT NULL DEFAULT '',
	active_version_id TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	UNIQUE (organization, name)
);

CREATE TABLE template_versions (
	id TEXT PRIMARY KEY,
	template_id TEXT NOT NULL REFERENCES templates (id),
	name TEXT NOT NULL,
	deprecated INTEGER NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	UNIQUE (template_id, name)
);

CREATE TABLE presets (
	id TEXT PRIMARY KEY,
	template_id TEXT NOT NULL REFERENCES templates (id),
	name TEXT NOT NULL,
	parameters TEXT NOT NULL DEFAULT '{}',
	desired_instances INTEGER NOT NULL DEFAULT 0,
	ttl_seconds BIGINT NOT NULL DEFAULT 0,
	timezone TEXT NOT NULL DEFAULT '',
	schedules TEXT NOT NULL DEFAULT '[]',
	status TEXT NOT NULL DEFAULT 'healthy',
	status_reason TEXT NOT NULL DEFAULT '',
	status_version_id TEXT NOT NULL DEFAULT '',
	status_changed_at BIGINT NOT NULL DEFAULT 0,
	resumed_at BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	UNIQUE (template_id, name)
);

CREATE TABLE workspaces (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	owner TEXT NOT NULL,
	template_id TEXT NOT NULL REFERENCES templates (id),
	preset_id TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	claimed_at BIGINT NOT NULL DEFAULT 0,
	deleted_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX workspaces_pool ON workspaces (preset_id, owner, deleted_at, created_at);

CREATE TABLE builds (
	id TEXT PRIMARY KEY,
	workspace_id TEXT NOT NULL REFERENCES workspaces (id),
	number INTEGER NOT NULL,
	template_version_id TEXT NOT NULL DEFAULT '',
	preset_id TEXT NOT NULL DEFAULT '',
	transition TEXT NOT NULL,
	status TEXT NOT NULL,
	stage TEXT NOT NULL,
	initiator TEXT NOT NULL DEFAULT '',
	log TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	started_at BIGINT NOT NULL DEFAULT 0,
	completed_at BIGINT NOT NULL DEFAULT 0,
	UNIQUE (workspace_id, number)
);
CREATE INDEX builds_preset_stage ON builds (preset_id, stage, status);

CREATE TABLE tracked_builds (
	build_id TEXT PRIMARY KEY REFERENCES builds (id),
	workspace_id TEXT NOT NULL,
	replacements INTEGER NOT NULL,
	tracked_at BIGINT NOT NULL
);

CREATE TABLE replacements (
	build_id TEXT NOT NULL REFERENCES builds (id),
	resource TEXT NOT NULL,
	deposed TEXT NOT NULL DEFAULT '',
	workspace_id TEXT NOT NULL,
	module TEXT NOT NULL DEFAULT '',
	type TEXT NOT NULL DEFAULT '',
	name TEXT NOT NULL DEFAULT '',
	provider TEXT NOT NULL DEFAULT '',
	reason TEXT NOT NULL DEFAULT '',
	replace_order TEXT NOT NULL DEFAULT '',
	paths TEXT NOT NULL DEFAULT '[]',
	changes TEXT NOT NULL DEFAULT '[]',
	created_at BIGINT NOT NULL,
	PRIMARY KEY (build_id, resource, deposed)
);

CREATE TABLE outbox (
	id TEXT PRIMARY KEY,
	dedup_key TEXT NOT NULL UNIQUE,
	kind TEXT NOT NULL,
	recipient TEXT NOT NULL DEFAULT '',
	payload TEXT NOT NULL,
	status TEXT NOT NULL DEFAULT 'pending',
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_at BIGINT NOT NULL,
	lease_owner TEXT NOT NULL DEFAULT '',
	lease_until BIGINT NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	delivered_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE reconciler_state (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL,
	updated_at BIGINT NOT NULL
);
