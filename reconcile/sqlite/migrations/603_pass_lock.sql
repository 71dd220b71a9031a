-- A pass records its builds in chunks, each in a short transaction, so
-- that the first builds start while the rest is recorded (issue 12). The
-- pass lock has to outlive one transaction: this row holds it, with the
-- holder's lease, renewed by each chunk; a holder that dies leaves it to
-- expire.
CREATE TABLE pass_lock (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	owner TEXT NOT NULL DEFAULT '',
	until BIGINT NOT NULL DEFAULT 0
);
INSERT INTO pass_lock (id) VALUES (1);
