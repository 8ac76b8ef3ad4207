package capture

import (
	"github.com/illumera/alignsync/change"

	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/segmentio/kafka-go"
)

// sink receives the decoder's output in stream order.
type sink interface {
	begin(t *txn)
	change(t *txn, m kafka.Message)
	commit(t *txn) error
	// position reports a stream position with nothing pending before it
	// (a non-transactional logical message such as the heartbeat).
	position(lsn pglogrepl.LSN)
}

// decoder turns pgoutput messages into Kafka messages. It runs on the
// replication goroutine only.
type decoder struct {
	topic, dlqTopic string
	maxMessageBytes int
	rels            *relations
	out             sink
	metrics         *Metrics
	now             func() time.Time

	cur      *txn
	buf      []byte
	old, new row
	arena    arena
}

var errOutsideTxn = errors.New("change outside a transaction")

// handle decodes one pgoutput message. An error means the stream cannot be
// trusted any more and the session must restart; a change that cannot be
// encoded is not an error, it goes to the dead-letter topic.
func (d *decoder) handle(ctx context.Context, walStart pglogrepl.LSN, data []byte) error {
	if len(data) == 0 {
		return errors.New("decoding pgoutput: empty message")
	}
	switch pglogrepl.MessageType(data[0]) {
	case pglogrepl.MessageTypeInsert, pglogrepl.MessageTypeUpdate, pglogrepl.MessageTypeDelete:
		return d.handleRow(walStart, data)
	case pglogrepl.MessageTypeBegin:
		return d.handleBegin(data)
	case pglogrepl.MessageTypeCommit:
		return d.handleCommit(data)
	case pglogrepl.MessageTypeRelation:
		var m pglogrepl.RelationMessage
		if err := m.Decode(data[1:]); err != nil {
			return fmt.Errorf("decoding relation: %w", err)
		}
		return d.rels.add(ctx, &m)
	case pglogrepl.MessageTypeType:
		var m pglogrepl.TypeMessage
		if err := m.Decode(data[1:]); err != nil {
			return fmt.Errorf("decoding type: %w", err)
		}
		d.rels.addType(&m)
		return nil
	case pglogrepl.MessageTypeTruncate:
		return d.handleTruncate(walStart, data)
	case pglogrepl.MessageTypeOrigin:
		// Changes replicated from another server; they are captured like
		// local ones, the origin name has no place in the envelope.
		var m pglogrepl.OriginMessage
		return m.Decode(data[1:])
	case pglogrepl.MessageTypeMessage:
		return d.handleMessage(data)
	}
	return fmt.Errorf("decoding pgoutput: unsupported message type %q", data[0])
}

func (d *decoder) handleBegin(data []byte) error {
	var m pglogrepl.BeginMessage
	if err := m.Decode(data[1:]); err != nil {
		return fmt.Errorf("decoding begin: %w", err)
	}
	if d.cur != nil {
		return fmt.Errorf("decoding begin of xid %d: xid %d is still open", m.Xid, d.cur.xid)
	}
	t := &txn{commitLSN: m.FinalLSN, xid: m.Xid, commitTime: m.CommitTime}
	t.commitHeader = strconv.AppendUint(nil, uint64(m.FinalLSN), 10)
	t.sourceTail = sourceTail(t)
	d.cur = t
	d.out.begin(t)
	return nil
}

func (d *decoder) handleCommit(data []byte) error {
	var m pglogrepl.CommitMessage
	if err := m.Decode(data[1:]); err != nil {
		return fmt.Errorf("decoding commit: %w", err)
	}
	t := d.cur
	if t == nil || t.commitLSN != m.CommitLSN {
		return fmt.Errorf("decoding commit at %s: no matching begin", m.CommitLSN)
	}
	t.endLSN = m.TransactionEndLSN
	d.cur = nil
	return d.out.commit(t)
}

func (d *decoder) handleMessage(data []byte) error {
	var m pglogrepl.LogicalDecodingMessage
	if err := m.Decode(data[1:]); err != nil {
		return fmt.Errorf("decoding logical message: %w", err)
	}
	d.metrics.LogicalMessages.Inc()
	if !m.Transactional && d.cur == nil {
		d.out.position(m.LSN)
	}
	return nil
}

func (d *decoder) handleTruncate(walStart pglogrepl.LSN, data []byte) error {
	var m pglogrepl.TruncateMessage
	if err := m.Decode(data[1:]); err != nil {
		return fmt.Errorf("decoding truncate: %w", err)
	}
	if d.cur == nil {
		return errOutsideTxn
	}
	for _, id := range m.RelationIDs {
		rel, ok := d.rels.get(id)
		index := d.cur.next
		d.cur.next++
		if !ok {
			d.deadLetter(nil, index, change.OpTruncate, walStart, nil, fmt.Errorf("truncate of relation %d before its Relation message", id))
			continue
		}
		rel.events[3].Inc()
		d.buf = append(d.buf[:0], `{"before":null,"after":null`...)
		d.buf = d.appendTrailer(d.buf, rel, walStart, change.OpTruncate, index, nil)
		d.emit(rel, index, change.OpTruncate, walStart, rel.header, d.buf)
	}
	return nil
}

// handleRow decodes Insert ('I' relid 'N' tuple), Update ('U' relid
// ['K'|'O' tuple] 'N' tuple) and Delete ('D' relid 'K'|'O' tuple) in place.
func (d *decoder) handleRow(walStart pglogrepl.LSN, data []byte) error {
	t := d.cur
	if t == nil {
		return errOutsideTxn
	}
	op := rowOp(data[0])
	index := t.next
	t.next++
	if len(data) < 6 {
		d.deadLetter(nil, index, op, walStart, nil, errShortTuple)
		return nil
	}
	rel, ok := d.rels.get(binary.BigEndian.Uint32(data[1:]))
	if !ok {
		d.deadLetter(nil, index, op, walStart, nil, fmt.Errorf("change to relation %d before its Relation message", binary.BigEndian.Uint32(data[1:])))
		return nil
	}
	rel.events[opSlot(op)].Inc()
	key, err := d.encodeRow(rel, data[0], data[5:], walStart, op, index)
	if err != nil {
		d.deadLetter(rel, index, op, walStart, key, err)
		return nil
	}
	d.emit(rel, index, op, walStart, key, d.buf)
	return nil
}

func rowOp(b byte) string {
	switch b {
	case 'I':
		return change.OpCreate
	case 'U':
		return change.OpUpdate
	}
	return change.OpDelete
}

func opSlot(op string) int {
	switch op {
	case change.OpCreate:
		return 0
	case change.OpUpdate:
		return 1
	case change.OpDelete:
		return 2
	}
	return 3
}
