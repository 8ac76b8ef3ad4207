// Package store owns alignsync's SQL: the embedded migrations of the
// align_sync schema, the reference Illumera schema used by tests and the demo,
// and the connection pool every component opens.
//
// Invariant: the database enforces what the guarantees need (unique delivery
// ids, unique idempotency keys, one link per company, entity type and Illumera
// id, CHECKs on every status); application code relies on those constraints
// instead of re-checking them.
package store
