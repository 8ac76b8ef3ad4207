// Package align is the typed client of the Align API. What it assumes about Align, each point
// marked documented or assumed, is docs/align-contract.md at the repository's root.
//
// Invariant: every request a Client sends carries the caller's API key, passes the key's shared
// rate limiter first, and every POST carries the caller-supplied Idempotency-Key, so that a call
// retried here, or repeated by a caller after a crash with the same key, can never create a second
// Align record. Retryable is the one place that decides which failures are worth another attempt;
// the API key never appears in an error, a log line or a String form beyond its last four
// characters.
//
// Everything the client relies on that Align has not documented lives in assumptions.go. The
// webhook event names are not here: they belong to the deliveries, whose receiver is package ingest.
//
// The package shares no types or validation with the simulator in alignsim/: the two are written
// independently from the contract so that a misunderstanding in either shows up in the contract
// tests.
package align
