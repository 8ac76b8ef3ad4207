package capture

import (
	"fmt"
	"strconv"
	"strings"
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

// Kafka header names every change message carries.
const (
	HeaderTable     = "table"      // the source table, unqualified
	HeaderCommitLSN = "commit_lsn" // Source.CommitLSN in decimal
	HeaderIndex     = "index"      // Envelope.Index in decimal
	HeaderError     = "error"      // on dead-letter messages: why the change could not be encoded
)

// Envelope is the Debezium-compatible value of every message on the CDC
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

// ID is the change's identity, stable across redeliveries: the commit LSN
// and the index within the transaction, "<commitLsn>:<index>" in decimal.
func (e Envelope) ID() string {
	return ChangeID(e.Source.CommitLSN, e.Index)
}

// ChangeID formats a change identity as Envelope.ID does.
func ChangeID(commitLSN uint64, index int) string {
	return strconv.FormatUint(commitLSN, 10) + ":" + strconv.Itoa(index)
}

// ParseID splits an identity made by Envelope.ID.
func ParseID(id string) (commitLSN uint64, index int, err error) {
	lsn, idx, ok := strings.Cut(id, ":")
	if !ok {
		return 0, 0, fmt.Errorf("parsing change id %q: missing ':'", id)
	}
	if commitLSN, err = strconv.ParseUint(lsn, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("parsing change id %q: %w", id, err)
	}
	if index, err = strconv.Atoi(idx); err != nil {
		return 0, 0, fmt.Errorf("parsing change id %q: %w", id, err)
	}
	return commitLSN, index, nil
}
