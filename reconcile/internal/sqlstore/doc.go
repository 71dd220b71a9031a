// Package sqlstore is the database/sql implementation of reconcile.Store
// and notify.Outbox shared by reconcile/sqlite and reconcile/postgres. The
// two differ only in their Dialect: placeholders, row locks, the pass lock
// and the migrations they embed. Times are stored as Unix microseconds and
// ids as text so the SQL is the same on both.
package sqlstore
