// Package connect owns a company's Align connection: validating an API key
// against Align's /me, registering the webhook that brings statuses back,
// storing the key and the webhook secret encrypted, and disconnecting.
//
// Invariant: an API key or a webhook secret exists in plaintext only in memory,
// for the duration of a call. At rest it is AES-256-GCM ciphertext bound to its
// company (the company id is the additional data, so a value copied to another
// company's row does not decrypt); in logs, errors and API answers only its
// last four characters appear.
package connect
