-- Build leases (issues 11 and 14): an unfinished build belongs to the
-- reconciler (or claimer) named by lease_owner until lease_until (Unix
-- microseconds); the holder renews it while the build runs. host, pgid and
-- proc_start name the build command's process group (pgid 0 = not started),
-- so a takeover on the same host can make sure it is gone.
ALTER TABLE builds ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE builds ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE builds ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE builds ADD COLUMN pgid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE builds ADD COLUMN proc_start BIGINT NOT NULL DEFAULT 0;
-- Builds left unfinished by reconcilers that knew no leases keep the old
-- two-hour stale limit.
UPDATE builds SET lease_until = created_at + 7200000000 WHERE status IN ('pending', 'running');
CREATE INDEX builds_unfinished ON builds (status, lease_owner);
