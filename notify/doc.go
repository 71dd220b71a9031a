// Package notify tells template admins what happened to their templates:
// a claim that replaced resources (with the exact ignore_changes fix), a
// preset paused as replacement-prone, a preset stopped at its failure limit.
//
// A Notification renders as a title, plain text, markdown and a versioned
// JSON payload (schema claimdrift.notification/v1) carrying a dedup key per
// (workspace, build, recipient). Notifications are queued in a durable
// outbox, in the same transaction as the event they report; a Dispatcher
// drains it through a Transport with leased row claims, so several
// dispatchers on one database send each message once.
//
// notify declares the Outbox interface it needs; the store packages
// implement it. It imports analyzer for the report's types and nothing
// else of claimdrift.
package notify
