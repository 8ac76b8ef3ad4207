// Package connect owns a company's Align connection: validating an API key
// against Align's /me, registering the webhook that brings statuses back,
// storing the key and the webhook secret encrypted, and disconnecting.
//
// Invariant: an API key or a webhook secret exists in plaintext only in
// memory (for a call, or up to a minute in the webhook receiver's verifier
// cache). At rest it is AES-256-GCM ciphertext bound to its company (the
// company id is the additional data, so a value copied to another company's
// row does not decrypt); in logs, errors and API answers at most its last
// four characters appear.
//
// A new key for a connected company replaces the old one without a
// disconnect: the WAL position the sync starts from stays, and so does the
// webhook (with its connection id, the id in the webhook URL) when Align
// still lists it in the same organization. A reconnect that registers a new
// webhook issues a new connection id, so the replaced webhook's URL stops
// resolving even when deleting it at Align fails.
//
// The organization stored on a connection is the one the company's entity
// links point into. Links are never deleted, by connect or by disconnect: a
// connect into another organization is refused while links exist, unless
// the admin confirms starting over, which moves them, in the same
// transaction, to align_sync.retired_entity_links (kept for audit, never
// read by the sink).
//
// Apart from the workflow, CheckHealth (health.go) checks connected
// companies periodically and registers a webhook that is gone again, and
// RotateKeys (rotate.go) re-encrypts stored secrets with the keyring's first
// key.
package connect
