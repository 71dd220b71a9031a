-- Reconcile performance (issue 12): each preset carries its latest
-- finished create (a prebuild's start build that succeeded or failed, the
-- newest by completion time, then id), set by the transaction that
-- finishes it. A snapshot reads the create history of a preset only when
-- that create is not a success on the active version: otherwise the
-- history CalculateActions looks at is that create alone.
ALTER TABLE presets ADD COLUMN last_create_id TEXT NOT NULL DEFAULT '';
ALTER TABLE presets ADD COLUMN last_create_version_id TEXT NOT NULL DEFAULT '';
ALTER TABLE presets ADD COLUMN last_create_status TEXT NOT NULL DEFAULT '';
ALTER TABLE presets ADD COLUMN last_create_completed_at BIGINT NOT NULL DEFAULT 0;
UPDATE presets SET last_create_id = COALESCE((SELECT b.id FROM builds b
	WHERE b.preset_id = presets.id AND b.stage = 'prebuild' AND b.transition = 'start' AND b.status IN ('succeeded', 'failed')
	ORDER BY b.completed_at DESC, b.id DESC LIMIT 1), '');
UPDATE presets SET
	last_create_version_id = COALESCE((SELECT b.template_version_id FROM builds b WHERE b.id = presets.last_create_id), ''),
	last_create_status = COALESCE((SELECT b.status FROM builds b WHERE b.id = presets.last_create_id), ''),
	last_create_completed_at = COALESCE((SELECT b.completed_at FROM builds b WHERE b.id = presets.last_create_id), 0);
