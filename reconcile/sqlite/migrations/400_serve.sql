-- claimdrift serve (issues 12 and 13): API tokens, Coder notifications and
-- records observed from Coder.
--
-- api_tokens keeps the SHA-256 of each token (hex), never the token.
CREATE TABLE api_tokens (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	scopes TEXT NOT NULL,
	hash TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL,
	revoked_at BIGINT NOT NULL DEFAULT 0
);

-- One row per Coder notification recorded (msg_id): Coder retries, the
-- history records each message once.
CREATE TABLE coder_messages (
	msg_id TEXT PRIMARY KEY,
	build_id TEXT NOT NULL,
	received_at BIGINT NOT NULL
);

-- Templates and presets claimdrift only knows from Coder's notifications:
-- 'coder' (no pool of claimdrift's, desired 0), '' for claimdrift's own.
ALTER TABLE templates ADD COLUMN observed_from TEXT NOT NULL DEFAULT '';
ALTER TABLE presets ADD COLUMN observed_from TEXT NOT NULL DEFAULT '';

-- Paths a Coder notification gave that claimdrift could not render
-- unambiguously are kept as given: 1 marks them.
ALTER TABLE replacements ADD COLUMN paths_as_given INTEGER NOT NULL DEFAULT 0;

-- The replacement history is read newest first.
CREATE INDEX tracked_builds_recent ON tracked_builds (tracked_at);

-- A claim walks its preset's prebuilds oldest first and stops at the
-- first ready one: with the id in the index, without reading them all.
CREATE INDEX workspaces_claim ON workspaces (preset_id, owner, deleted_at, created_at, id);
