// Package api is the HTTP side of `claimdrift serve`: the JSON API under
// /api/v1 (tracking plans, analyzing them, claiming prebuilds, listing
// presets and the replacement history, taking in Coder's webhook
// notifications), /healthz, /readyz, /metrics and the status page at /.
//
// Requests carry bearer tokens with scopes (track, claim, read, admin;
// admin grants every scope). Only the SHA-256 of a token is stored and
// compared, in constant time. Handlers work over the pool and the store;
// with Options.Admission, claims, tracks and Coder notifications take
// turns at their database work in arrival order. The page's templates and
// assets are embedded.
package api
