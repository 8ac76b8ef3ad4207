// Package systemtest runs the shipped alignsync binary as separate processes
// all at once — capture, serve and two sinks, against a private PostgreSQL,
// the embedded Kafka broker and the Align simulator — under Align faults and
// random SIGKILLs of every component, while a mixed workload plays Illumera's
// users and Align's managers. At the end it stops the faults, lets the
// system heal itself and compares Illumera and Align entity by entity.
//
// Invariant: the test passes only when both sides hold the same entities,
// none missing and none doubled, with equal statuses, and every component
// stopped cleanly on SIGTERM. `make test` runs it for about two minutes;
// `make soak DURATION=30m` runs it long (RELIABILITY.md records a long run).
// Every file of the package but this one is a test file.
package systemtest
