package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/illumera/alignsync/pipeline/translate"
)

// Status is an operation's state in the outbox.
type Status string

// The statuses of an operation: pending → processing → done, or failed
// (parked) until it is due again or reset by Retry Failed.
const (
	Pending    Status = "pending"
	Processing Status = "processing"
	Done       Status = "done"
	Failed     Status = "failed"
)

// Statuses lists every status, in lifecycle order.
var Statuses = []Status{Pending, Processing, Done, Failed}

// ErrLeaseLost is returned by a fenced write when another executor has
// taken the company over: the caller must stop working on it at once.
var ErrLeaseLost = errors.New("the company's lease was taken over by another executor")

// Op is an operation as the outbox stores it: enough to run it again without
// its Kafka message (retries, Retry Failed, another instance).
type Op struct {
	Kind      translate.Kind    `json:"kind"`
	EntityID  string            `json:"entityId"`
	Payload   translate.Payload `json:"payload"`
	Touches   []string          `json:"touches"`
	DependsOn []string          `json:"dependsOn,omitempty"`
	TsMs      int64             `json:"tsMs,omitempty"` // source commit time
}

// Keys are the entity keys an earlier unfinished operation must not hold
// for this one to run: those it touches and those it depends on.
func (o Op) Keys() []string {
	return append(append([]string{}, o.Touches...), o.DependsOn...)
}

func stored(op translate.Op, tsMs int64) Op {
	return Op{Kind: op.Kind, EntityID: op.EntityID, Payload: op.Payload, Touches: op.Touches, DependsOn: op.DependsOn, TsMs: tsMs}
}

// Row is one recorded operation.
type Row struct {
	ID          int64
	CompanyID   string
	Key         string
	Status      Status
	Attempts    int
	NextRetryAt *time.Time
	Op          Op
}

// Source is where a change came from, recorded with its operations.
type Source struct {
	CommitLSN uint64
	Index     int
	Partition int
	Offset    int64
	TsMs      int64
}

// Link maps an Illumera entity to the Align entity an operation produced.
type Link struct {
	EntityType, IllumeraID, AlignID string
}

// Ledger reads and writes the outbox and the lanes.
type Ledger struct {
	pool   *pgxpool.Pool
	origin string // who records through it, as its announcements say
}

// New returns a ledger on pool.
func New(pool *pgxpool.Pool) *Ledger { return &Ledger{pool: pool} }

// NewOrigin returns a ledger on pool whose announcements of new work name
// origin (a sink instance), so that the instance can tell its own from
// others' (see WorkChannel).
func NewOrigin(pool *pgxpool.Pool, origin string) *Ledger {
	return &Ledger{pool: pool, origin: origin}
}

// Lease is a company claimed by one executor. Epoch fences every write made
// under it; Version is the company's work version as of the executor's last
// look at its queue.
type Lease struct {
	CompanyID string
	Owner     string
	Epoch     int64
	Version   int64
	// Takeover: the previous holder's lease expired without being released
	// (the instance died or stalled).
	Takeover bool
}

func lsnText(lsn uint64) string { return fmt.Sprintf("%X/%X", lsn>>32, uint32(lsn)) }

// decodeOp decodes a stored operation; the numbers of its source row stay
// json.Number, as in a captured change, so rows compare alike.
func decodeOp(payload []byte) (Op, error) {
	var op Op
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&op); err != nil {
		return op, fmt.Errorf("decoding stored operation: %w", err)
	}
	return op, nil
}

func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
