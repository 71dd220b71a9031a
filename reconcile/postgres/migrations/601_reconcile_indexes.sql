-- Reconcile performance (issue 12): the snapshot's reads along indexes.
--
-- Prebuild workspaces by their latest build's outcome, with everything the
-- snapshot reads of them.
CREATE INDEX workspaces_prebuilds ON workspaces (owner, deleted_at, latest_build_outcome, latest_build_transition, preset_id, created_at, id,
	name, latest_build_id, latest_build_version_id, latest_build_completed_at);
-- Per preset: the latest succeeded create of a version, then the creates
-- finished since.
CREATE INDEX builds_creates_ok ON builds (preset_id, stage, transition, status, template_version_id, completed_at, id);
CREATE INDEX builds_creates ON builds (preset_id, stage, transition, completed_at, id, status, template_version_id);
