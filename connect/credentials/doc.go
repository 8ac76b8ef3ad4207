// Package credentials is the credential store of the Align integration: the
// keyring of ALIGNSYNC_ENCRYPTION_KEYS and the rows of align_sync.connections
// (a company's connection status, its Align API key, its webhook target and
// secret). It never calls Align, so a process that only reads keys (the sink,
// reconcile, replay, the webhook receiver) builds a Store from a pool and a
// keyring alone. The workflow that calls Align to connect, disconnect,
// replace a key or check a connection's health is package connect, which
// reads and writes the rows through this package.
//
// Invariant: an API key or a webhook secret exists in plaintext only in
// memory (for a call, or up to a minute in the webhook receiver's verifier
// cache). At rest it is AES-256-GCM ciphertext bound to its company (the
// company id is the additional data, so a value copied to another company's
// row does not decrypt); in logs, errors and API answers at most its last
// four characters appear.
//
// The connection statuses (StatusConnected, StatusError,
// StatusDisconnected) are defined here, with the table they describe;
// RotateKeys (rotate.go) re-encrypts stored secrets with the keyring's first
// key.
package credentials
