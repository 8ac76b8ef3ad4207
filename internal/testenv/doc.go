// Package testenv gives tests and benchmarks the real things alignsync talks
// to: a private PostgreSQL 15 with wal_level=logical started from the local
// server binaries, an embedded Kafka broker (franz-go kfake) that kafka-go
// reaches over loopback TCP, and an Align simulator. The starters themselves
// live in internal/devenv (no testing import, so the demo in the binary uses
// them too); this package adds what needs package testing: a database per
// test, cleanup, TestMain.
//
// Invariant: nothing here skips. When PostgreSQL cannot start, the caller gets
// an error naming the reason (missing binaries, port, permissions), and a test
// fails with it: a skipped suite would claim a guarantee nobody checked.
package testenv
