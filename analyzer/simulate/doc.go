// Package simulate predicts what claiming a prebuilt workspace replaces,
// by asking the template's own providers, without creating anything.
//
// For a template directory it plans as the prebuild (the coder provider
// reads the identity of a build from CODER_* environment variables: owner
// "prebuilds", a generated workspace name, is_prebuild, the preset's
// parameter values), turns that plan into a synthetic state (format v4:
// planned values, unknown values replaced by placeholders of the schema's
// type, sensitive paths recorded), re-plans as the prebuild with
// -refresh=false until the plan is a no-op, then plans as the claimant
// (another owner and workspace name, is_prebuild_claim, the same workspace
// id) with -refresh=false and hands that plan to the analyzer. Resources
// that a claim destroys and creates under another address (count or
// for_each keyed by the owner) are reported as re-keyed.
//
// Everything runs in a private copy of the template in a temporary
// directory, with the modules and providers the template was initialized
// with linked read-only and the backend removed: the template's directory
// and its real state are never written, and nothing is ever applied.
package simulate
