// Package replay lets operators send Kafka messages through the sink again:
// resetting the sink's consumer-group offsets with the semantics of
// kafka-consumer-groups --reset-offsets, or replaying one company's changes
// over a time range through the sink's own code (pipeline.Sink.Apply) without
// touching the group.
//
// Invariants: offsets are only ever committed while the group has no active
// member, and never outside what the topic holds; a dry run changes nothing;
// a company replay reads only and hands the company's messages, in offset
// order per partition, to code that is idempotent, so replaying twice does
// what replaying once did.
package replay
