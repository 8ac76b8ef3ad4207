// Package capture streams the changes of Illumera's synced tables from
// PostgreSQL's logical replication (pgoutput, read with pglogrepl) into the
// Kafka topic illumera.cdc (kafka-go), one Debezium-style envelope per row change
// (package change), keyed by company_id.
//
// Invariant: the flush position capture confirms to PostgreSQL is the end of
// a transaction that Kafka has acknowledged completely, together with every
// transaction before it. Nothing is confirmed on receipt; write, flush and
// apply are always set explicitly. Whatever is killed when, a committed
// change is either in Kafka or still in the slot, and is delivered again from
// there: consumers dedupe on the change's identity (change.ID: commit LSN and
// index).
//
// The replication loop (stream.go) is listen → handleKeepalive /
// handleXLogData / sendStandbyStatus. The decoder (decoder.go, encode.go,
// tuple.go) turns pgoutput messages into Kafka messages, reading tuples in
// place; the producer (producer.go) hands them to an asynchronous kafka-go
// Writer and counts its completions back; the tracker (acks.go) turns those
// into the flush position, in commit order. One process per slot streams:
// the others wait on a PostgreSQL advisory lock as standbys (lock.go).
//
// # Least privileges
//
// The capture role needs, and only needs:
//
//	CREATE ROLE alignsync_capture LOGIN REPLICATION PASSWORD '...';
//
// plus CONNECT on the database (PUBLIC has it by default) and a pg_hba.conf
// line admitting it to the database (logical replication connections match
// the database name, not the "replication" keyword). REPLICATION covers the
// slot (created on first start) and START_REPLICATION; the heartbeat
// (pg_logical_emit_message), the advisory lock, pg_index and
// pg_replication_slots need no privilege at all. No SELECT on the tables is
// needed. TestLeastPrivilege runs capture as such a role.
//
// The publication is the one thing that needs more: CREATE PUBLICATION and
// ALTER PUBLICATION ... ADD TABLE require owning the tables. Run them once as
// the tables' owner (`alignsync capture --check` prints the statements), or
// let capture run them itself when its role owns the tables:
//
//	CREATE PUBLICATION alignsync FOR TABLE companies, talent, projects,
//	    project_roles, engagements, time_entries;
//	ALTER TABLE time_entries REPLICA IDENTITY FULL;  -- and the other tables
//
// A slot that no longer holds every change capture has not read (invalidated,
// dropped, or standing past the position capture recorded in Kafka before
// confirming it, position.go) is refused with a *SlotLostError naming the
// recovery: RecreateSlot, then alignsync resync (slotloss.go, slot.go).
//
// The server needs wal_level = logical, and max_replication_slots and
// max_wal_senders of at least one each for capture. While capture is stopped
// the slot keeps WAL on the server: watch
// alignsync_capture_slot_retained_wal_bytes, and drop the slot
// (pg_drop_replication_slot('alignsync')) if capture is retired.
package capture
