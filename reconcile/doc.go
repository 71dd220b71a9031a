// Package reconcile keeps pools of prebuilt workspaces healthy.
//
// It holds the pool domain (templates, versions, presets, workspaces,
// builds, claims), CalculateActions — the pure function that decides, for
// one preset and one instant, which prebuilds to create, delete or cancel —
// the Reconciler that runs passes against a Store and an Executor, the
// claim and replacement-tracking operations, the exec Executor and a
// Prometheus collector derived from the store.
//
// Builds are leased (Lease): the process that runs a build renews its lease
// while the build runs; a build whose lease ran out is taken over by the
// next pass (recorded BuildAbandoned, its workspace deleted), after the
// build command's process group, when it ran on this host, is gone. Build
// commands run in their own process group, tied to the reconciler's life;
// a shutdown cancels them (BuildCanceled) and deletes their workspaces.
// Only BuildFailed counts toward backoff and the failure limit.
//
// A pass records its builds in chunks (PassWrite.Chunk), each in a short
// transaction, under a pass lock the store holds across them; the pool
// starts builds as their chunk commits.
//
// Storage lives in subpackages named after their dependency
// (reconcile/sqlite, reconcile/postgres); they implement the Store
// interface declared here and notify.Outbox. reconcile imports notify and
// analyzer, never the other way round.
package reconcile
