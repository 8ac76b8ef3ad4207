// Package testenv gives tests, benchmarks and the demo the real things
// alignsync talks to: a private PostgreSQL 15 with wal_level=logical started
// from the local server binaries, an embedded Kafka broker (franz-go kfake)
// that kafka-go reaches over loopback TCP, and an Align simulator.
//
// Invariant: nothing here skips. When PostgreSQL cannot start, the caller gets
// an error naming the reason (missing binaries, port, permissions), and a test
// fails with it: a skipped suite would claim a guarantee nobody checked.
package testenv
