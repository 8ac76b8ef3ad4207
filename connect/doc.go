// Package connect is the workflow of a company's Align connection: validating
// an API key against Align's /me, registering the webhook that brings
// statuses back, storing the key and the webhook secret through the
// credential store (connect/credentials, which owns the keyring and the
// align_sync.connections rows and never calls Align), replacing a key, and
// disconnecting. Processes that only read keys use the credential store
// alone; this package is for the ones that call Align about a connection
// (serve).
//
// A new key for a connected company replaces the old one without a
// disconnect: the WAL position the sync starts from stays, and so does the
// webhook (with its connection id, the id in the webhook URL) when Align
// still lists it in the same organization. A reconnect that registers a new
// webhook issues a new connection id, so the replaced webhook's URL stops
// resolving even when deleting it at Align fails. A connection subscribes to
// the events the webhook receiver handles (ingest.Events).
//
// The organization stored on a connection is the one the company's entity
// links point into. Links are never deleted, by connect or by disconnect: a
// connect into another organization is refused while links exist, unless
// the admin confirms starting over, which moves them, in the same
// transaction, to align_sync.retired_entity_links (kept for audit, never
// read by the sink).
//
// Apart from the workflow, CheckHealth (health.go) checks connected
// companies periodically and registers a webhook that is gone again.
package connect
