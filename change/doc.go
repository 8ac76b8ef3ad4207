// Package change is the contract every reader and writer of the change topic
// shares: the Debezium-style envelope of each message on illumera.cdc, its op
// codes and Kafka headers, the value of a dead-lettered change, and a
// change's identity. capture writes it, the sink and replay read it, and the
// tests build it; it imports nothing of alignsync.
//
// Invariant: a change's identity (commit LSN and index within its
// transaction) is the same on every delivery, on the change topic and on the
// dead-letter topic, and is spelled one way (ID.String).
package change
