-- Reconcile performance (issue 12): the snapshot's reads along indexes.
--
-- Prebuild workspaces, oldest first, with what the snapshot reads of them.
CREATE INDEX workspaces_prebuilds ON workspaces (owner, deleted_at, created_at, id, preset_id, latest_build_id, name);
-- A workspace's latest build by id, without reading the row (and its log).
CREATE INDEX builds_latest ON builds (id, transition, status, template_version_id, completed_at);
-- Per preset: the latest succeeded create of a version, then the creates
-- finished since.
CREATE INDEX builds_creates_ok ON builds (preset_id, stage, transition, status, template_version_id, completed_at, id);
CREATE INDEX builds_creates ON builds (preset_id, stage, transition, completed_at, id, status, template_version_id);
