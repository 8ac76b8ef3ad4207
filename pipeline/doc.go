// Package pipeline turns captured Illumera changes into ordered, idempotent
// Align operations: it consumes illumera.cdc, translates each change into
// operations, runs them in one lane per company through the Align client,
// records every operation in align_sync.outbox, parks failures, retries them,
// and commits Kafka offsets only below the lowest unfinished message.
//
// Invariants: an operation runs only after the earlier operations it depends
// on; an operation whose outbox row is done never runs again; a message's
// offset is committed only when each of its operations is done, skipped or
// durably parked; the package speaks to Align only through sinks/align.
package pipeline
