// Package reconcile proves that Illumera and Align agree, and repairs what a
// lost webhook or a lost operation left behind.
//
// For each connected company and each project it has linked, a run compares
// the approved minutes and their cost (entries approved, locked or invoiced)
// over a window of work dates, records every difference beyond the noise in
// align_sync.reconciliation_discrepancies, and checks alignsync's entity
// links against Align's integration links. With repair on, an entry whose
// Align status is ahead of Illumera's goes forward through ingest.ApplyRepair
// (AdvanceStatus, the webhook handler's own lifecycle, recorded as a repaired
// delivery), and an entry Align never received is
// re-enqueued through the pipeline's outbox. A difference stays one open
// discrepancy per company, project and field until a run finds it clean.
//
// The status sweep (Sweeper) does the status part of a repair continuously
// and in bounded batches: it reads from Align the entries whose webhook may
// have been lost and writes back what Align is ahead by through
// ingest.ApplyRepair, recorded as a delivery marked repaired.
//
// Invariants: one run at a time across every instance (a PostgreSQL advisory
// lock), one nightly run per slot (align_sync.reconciliation_runs); a run never
// writes to Align and never moves a status backwards; an API key appears
// nowhere in its output.
package reconcile
