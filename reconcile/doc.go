// Package reconcile keeps pools of prebuilt workspaces healthy.
//
// It holds the pool domain (templates, versions, presets, workspaces,
// builds, claims), CalculateActions — the pure function that decides, for
// one preset and one instant, which prebuilds to create, delete or cancel —
// the Reconciler that runs passes against a Store and an Executor, the
// claim and replacement-tracking operations, the exec Executor and a
// Prometheus collector derived from the store.
//
// Storage lives in subpackages named after their dependency
// (reconcile/sqlite, reconcile/postgres); they implement the Store
// interface declared here and notify.Outbox. reconcile imports notify and
// analyzer, never the other way round.
package reconcile
