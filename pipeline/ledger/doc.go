// Package ledger owns align_sync.outbox and align_sync.lanes: every
// company's durable queue of Align operations and the leases that let one
// executor at a time, across all sink instances, work through it.
//
// Invariants: an operation is recorded once per idempotency key (a
// redelivered change records nothing new); an operation that is done never
// runs again; every write an executor makes names the lease epoch it
// claimed and is refused once another instance has taken the company over;
// an operation blocked behind an earlier one stays pending until that one is
// done. Intake, the executors, Retry Failed, reconciliation and the admin
// listings all go through this package, never through the tables directly.
package ledger
