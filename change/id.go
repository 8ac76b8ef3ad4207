package change

import (
	"fmt"
	"strconv"
	"strings"
)

// ID identifies a change across redeliveries and replays: its transaction's
// commit LSN and its index within the transaction. Operations derived from a
// change build their idempotency keys on it.
type ID struct {
	CommitLSN uint64
	Index     int
}

// String spells the identity "<commitLsn>/<index>" in decimal.
func (id ID) String() string {
	return strconv.FormatUint(id.CommitLSN, 10) + "/" + strconv.Itoa(id.Index)
}

// ParseID reads an identity spelled by ID.String.
func ParseID(s string) (ID, error) {
	lsn, idx, ok := strings.Cut(s, "/")
	if !ok {
		return ID{}, fmt.Errorf("parsing change id %q: want <commitLsn>/<index>", s)
	}
	commit, err := strconv.ParseUint(lsn, 10, 64)
	if err != nil {
		return ID{}, fmt.Errorf("parsing change id %q: commit LSN: %w", s, err)
	}
	index, err := strconv.Atoi(idx)
	if err != nil || index < 0 {
		return ID{}, fmt.Errorf("parsing change id %q: index must be a non-negative integer", s)
	}
	return ID{CommitLSN: commit, Index: index}, nil
}
