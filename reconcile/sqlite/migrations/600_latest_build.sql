-- Reconcile performance (issue 12): each workspace carries its latest
-- build (the one with the highest number): its id, transition and
-- template version, set by the transaction that records the build, and its
-- outcome ('succeeded' or 'failed', '' while unfinished, canceled or
-- abandoned) and completion time, set by the transaction that finishes it.
-- A snapshot then reads the prebuilds from the workspaces alone, instead
-- of looking for the latest build of each.
ALTER TABLE workspaces ADD COLUMN latest_build_id TEXT NOT NULL DEFAULT '';
ALTER TABLE workspaces ADD COLUMN latest_build_transition TEXT NOT NULL DEFAULT '';
ALTER TABLE workspaces ADD COLUMN latest_build_version_id TEXT NOT NULL DEFAULT '';
ALTER TABLE workspaces ADD COLUMN latest_build_outcome TEXT NOT NULL DEFAULT '';
ALTER TABLE workspaces ADD COLUMN latest_build_completed_at BIGINT NOT NULL DEFAULT 0;
UPDATE workspaces SET latest_build_id = COALESCE((SELECT b.id FROM builds b WHERE b.workspace_id = workspaces.id ORDER BY b.number DESC LIMIT 1), '');
UPDATE workspaces SET
	latest_build_transition = COALESCE((SELECT b.transition FROM builds b WHERE b.id = workspaces.latest_build_id), ''),
	latest_build_version_id = COALESCE((SELECT b.template_version_id FROM builds b WHERE b.id = workspaces.latest_build_id), ''),
	latest_build_outcome = COALESCE((SELECT CASE WHEN b.status IN ('succeeded', 'failed') THEN b.status ELSE '' END FROM builds b WHERE b.id = workspaces.latest_build_id), ''),
	latest_build_completed_at = COALESCE((SELECT CASE WHEN b.status IN ('succeeded', 'failed') THEN b.completed_at ELSE 0 END FROM builds b WHERE b.id = workspaces.latest_build_id), 0);
