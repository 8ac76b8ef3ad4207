package capture

import (
	"github.com/illumera/alignsync/change"

	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pglogrepl"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/illumera/alignsync/capture/internal/pgjson"
)

// tenantColumn is the column whose value keys a row's Kafka messages.
const tenantColumn = "company_id"

type column struct {
	name       string
	field      []byte // `"name":`, escaped once
	kind, elem pgjson.Kind
	key        bool // part of the Kafka key
	ident      bool // part of the replica identity
}

// relation is what the stream said about a table, with everything the hot
// path needs computed once.
type relation struct {
	id            uint32
	schema, table string
	cols          []column
	header        []byte // table name, for the Kafka header
	sourceHead    []byte // the envelope's source object up to "lsn":
	events        [4]prometheus.Counter
	deadLetters   prometheus.Counter
}

// primaryKeyFunc returns the primary key column names of a table by OID.
type primaryKeyFunc func(ctx context.Context, relid uint32) ([]string, error)

// relations caches Relation and Type messages. pgoutput sends a Relation
// before a table's first change in each session and again after its schema
// changes, so the cache starts empty on every connection and entries are
// replaced, never patched.
type relations struct {
	db         string
	byID       map[uint32]*relation
	typeNames  map[uint32]string
	primaryKey primaryKeyFunc
	metrics    *Metrics
}

func newRelations(db string, pk primaryKeyFunc, m *Metrics) *relations {
	return &relations{db: db, byID: map[uint32]*relation{}, typeNames: map[uint32]string{}, primaryKey: pk, metrics: m}
}

func (r *relations) addType(m *pglogrepl.TypeMessage) {
	r.typeNames[m.DataType] = m.Name
}

func (r *relations) get(id uint32) (*relation, bool) {
	rel, ok := r.byID[id]
	return rel, ok
}

// add caches a Relation message, replacing what was known of the table.
func (r *relations) add(ctx context.Context, m *pglogrepl.RelationMessage) error {
	rel := &relation{id: m.RelationID, schema: m.Namespace, table: m.RelationName, header: []byte(m.RelationName)}
	for _, c := range m.Columns {
		kind, elem := pgjson.KindOf(c.DataType, r.typeNames[c.DataType])
		field, err := pgjson.AppendString(nil, []byte(c.Name))
		if err != nil {
			return fmt.Errorf("caching relation %s.%s: column name: %w", m.Namespace, m.RelationName, err)
		}
		rel.cols = append(rel.cols, column{name: c.Name, field: append(field, ':'), kind: kind, elem: elem, ident: c.Flags&1 != 0})
	}
	if err := r.markKey(ctx, rel, m); err != nil {
		return err
	}
	rel.sourceHead = r.sourceHead(rel)
	for i, op := range []string{change.OpCreate, change.OpUpdate, change.OpDelete, change.OpTruncate} {
		rel.events[i] = r.metrics.Events.WithLabelValues(rel.table, op)
	}
	rel.deadLetters = r.metrics.DeadLetters.WithLabelValues(rel.table)
	r.byID[rel.id] = rel
	return nil
}

// markKey flags the key columns: company_id when the table has it, else the
// primary key, else the replica identity columns unless that is every column
// (REPLICA IDENTITY FULL without a primary key): then the key is the table name.
func (r *relations) markKey(ctx context.Context, rel *relation, m *pglogrepl.RelationMessage) error {
	for i := range rel.cols {
		if rel.cols[i].name == tenantColumn {
			rel.cols[i].key = true
			return nil
		}
	}
	pk, err := r.primaryKey(ctx, rel.id)
	if err != nil {
		return fmt.Errorf("looking up the primary key of %s.%s: %w", rel.schema, rel.table, err)
	}
	for _, name := range pk {
		for i := range rel.cols {
			if rel.cols[i].name == name {
				rel.cols[i].key = true
			}
		}
	}
	if len(pk) > 0 {
		return nil
	}
	identity := 0
	for _, c := range m.Columns {
		if c.Flags&1 != 0 {
			identity++
		}
	}
	if identity < len(m.Columns) {
		for i, c := range m.Columns {
			rel.cols[i].key = c.Flags&1 != 0
		}
	}
	return nil
}

func (r *relations) sourceHead(rel *relation) []byte {
	b := []byte(`,"source":{"connector":"` + change.Connector + `","db":`)
	b, _ = pgjson.AppendString(b, []byte(r.db))
	b = append(b, `,"schema":`...)
	b, _ = pgjson.AppendString(b, []byte(rel.schema))
	b = append(b, `,"table":`...)
	b, _ = pgjson.AppendString(b, []byte(rel.table))
	return append(b, `,"lsn":`...)
}

// sourceTail is the part of the source object that is the same for every
// change of a transaction.
func sourceTail(t *txn) []byte {
	b := []byte(`,"commitLsn":`)
	b = strconv.AppendUint(b, uint64(t.commitLSN), 10)
	b = append(b, `,"txId":`...)
	b = strconv.AppendUint(b, uint64(t.xid), 10)
	b = append(b, `,"ts_ms":`...)
	b = strconv.AppendInt(b, t.commitTime.UnixMilli(), 10)
	return append(b, '}')
}
