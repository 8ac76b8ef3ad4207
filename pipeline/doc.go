// Package pipeline is the sink: it turns captured Illumera changes into
// ordered, idempotent Align calls. Intake (intake.go, record.go) consumes
// illumera.cdc, translates each change (package translate) and records its
// operations in the ledger (package ledger), each company's durable queue,
// then commits the offsets; it never waits for Align. The executors
// (schedule.go, claim.go, turn.go, execute.go) take companies with ready work
// in turn, one executor per company across all instances under a fenced
// lease, and make the calls (the runner: exec.go, ensure.go, entries.go,
// wiki.go).
//
// Invariants: a message's offset is committed only once its operations are
// durably recorded (or it called for nothing); an operation runs only after
// the earlier operations it depends on are done; an operation that is done
// never runs again; a company waiting for its rate budget, Retry-After or a
// retry holds no executor slot; the package speaks to Align only through
// sinks/align.
package pipeline
