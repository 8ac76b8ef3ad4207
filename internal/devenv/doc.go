// Package devenv starts the things alignsync talks to, for development: a
// private PostgreSQL 15 with wal_level=logical started from the local server
// binaries in a temporary directory, an embedded Kafka broker (franz-go
// kfake, a development broker, not a production one) that kafka-go reaches
// over loopback TCP, and the Align simulator. The demo and the alignsim
// subcommand use it, and internal/testenv builds the tests' environments on
// it.
//
// Invariant: nothing here imports package testing, so the alignsync binary
// can link it; and nothing here skips: when PostgreSQL cannot start, the
// caller gets an error naming the reason (missing binaries, port,
// permissions).
package devenv
