// Package resync closes a gap in the change stream. When capture's
// replication slot is lost (capture.SlotLostError), the changes committed in
// the gap never reach Kafka. After the slot is recreated, a resync reads every
// synced row (projects, engagements, time entries) of the connected
// companies changed since a time (updated_at or created_at), and enqueues the
// Align operations that bring Align to each row as it is now, through the
// same idempotent ledger the sinks run; the running sinks perform them.
//
// The operations come from the pipeline's own translation of one change:
// from what the ledger last recorded for the row to the row now, or, for a
// row the ledger never recorded, its insertion. A project that exists in
// Align is thereby updated, an accepted engagement provisions the user and
// the membership, an entry submitted in Illumera is created and submitted.
//
// Invariants: resync only enqueues, it never calls Align; each enqueue is
// keyed by the row and its version, so running it twice enqueues nothing new
// while a later change of the row does; every use of the pipeline's API is in
// ledger.go; a company without a connection, and rows untouched since before
// the company connected, are left out (history is not backfilled).
package resync
