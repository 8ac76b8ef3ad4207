package change

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Operation codes of Envelope.Op, as Debezium names them.
const (
	OpCreate   = "c"
	OpUpdate   = "u"
	OpDelete   = "d"
	OpTruncate = "t"
)

// Connector is the value of Source.Connector.
const Connector = "alignsync"

// Kafka header names. Every change message carries the first three; a
// message on the dead-letter topic carries HeaderError, and the sink's
// dead-lettered messages also name where they were read.
const (
	HeaderTable           = "table"            // the source table, unqualified
	HeaderCommitLSN       = "commit_lsn"       // Source.CommitLSN in decimal
	HeaderIndex           = "index"            // Envelope.Index in decimal
	HeaderError           = "error"            // why the change could not be encoded or decoded
	HeaderSourcePartition = "source_partition" // the change topic's partition the sink read it from
	HeaderSourceOffset    = "source_offset"    // and its offset there
)

// Envelope is the Debezium-compatible value of every message on the change
// topic. Values in Before and After are typed: integers as JSON numbers,
// numeric as strings, bool, text and uuid as strings, date as "YYYY-MM-DD",
// timestamptz as RFC 3339 UTC, jsonb embedded, arrays as JSON arrays, NULL
// as null.
type Envelope struct {
	Before map[string]any `json:"before"` // old row; complete under REPLICA IDENTITY FULL
	After  map[string]any `json:"after"`  // new row, without UnchangedToast columns
	Source Source         `json:"source"`
	Op     string         `json:"op"`    // c, u, d or t
	TsMs   int64          `json:"ts_ms"` // when capture produced the message
	// Index is the position of the change within its transaction, from 0.
	Index int `json:"index"`
	// UnchangedToast names the columns whose large (TOASTed) values did not
	// change and were not sent: they are absent from After, never null.
	UnchangedToast []string `json:"unchangedToast,omitempty"`
}

// Source says where a change comes from.
type Source struct {
	Connector string `json:"connector"` // always "alignsync"
	DB        string `json:"db"`
	Schema    string `json:"schema"`
	Table     string `json:"table"`
	LSN       uint64 `json:"lsn"`       // the change's own WAL position
	CommitLSN uint64 `json:"commitLsn"` // its transaction's commit position
	TxID      uint32 `json:"txId"`
	TsMs      int64  `json:"ts_ms"` // commit time, Unix milliseconds
}

// ID is the change's identity.
func (e Envelope) ID() ID { return ID{CommitLSN: e.Source.CommitLSN, Index: e.Index} }

// DeadLetter is the value of a message on the dead-letter topic when capture
// could not encode a change: where it comes from and why. The row itself is
// not repeated; replaying the source position shows it. (A message the sink
// could not decode goes there as it was, with HeaderError.)
type DeadLetter struct {
	Error  string `json:"error"`
	Source Source `json:"source"`
	Op     string `json:"op"`
	Index  int    `json:"index"`
	TsMs   int64  `json:"ts_ms"`
}

// Decode reads a message value. Numbers stay exact (json.Number), so that an
// id or an amount compares as it was written; a value without a table or an
// op is refused.
func Decode(value []byte) (Envelope, error) {
	var e Envelope
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		return Envelope{}, fmt.Errorf("decoding change envelope: %w", err)
	}
	if e.Source.Table == "" || e.Op == "" {
		return Envelope{}, errors.New("decoding change envelope: source.table and op are required")
	}
	return e, nil
}
