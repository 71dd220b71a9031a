-- Reconcile performance (issue 12): each workspace points at its latest
-- build (the one with the highest number), kept by the transaction that
-- records a build, so a snapshot joins one build per workspace instead of
-- looking for the maximum number of each.
ALTER TABLE workspaces ADD COLUMN latest_build_id TEXT NOT NULL DEFAULT '';
UPDATE workspaces SET latest_build_id = COALESCE((SELECT b.id FROM builds b WHERE b.workspace_id = workspaces.id ORDER BY b.number DESC LIMIT 1), '');
