package capture

import (
	"github.com/illumera/alignsync/change"

	"encoding/json"
	"fmt"
	"strconv"

	"github.com/jackc/pglogrepl"
	"github.com/segmentio/kafka-go"

	"github.com/illumera/alignsync/capture/internal/pgjson"
)

// encodeRow writes the envelope of a row change into d.buf and returns the
// Kafka key. src starts after the relation id.
func (d *decoder) encodeRow(rel *relation, kind byte, src []byte, walStart pglogrepl.LSN, op string, index int) ([]byte, error) {
	d.old.reset()
	d.new.reset()
	b := append(d.buf[:0], `{"before":`...)
	var err error
	if kind != 'I' && len(src) > 0 && (src[0] == 'K' || src[0] == 'O') {
		var n int
		if b, n, err = appendTuple(b, rel, src[1:], src[0] == 'K', &d.old); err != nil {
			return d.key(rel), fmt.Errorf("encoding old row: %w", err)
		}
		src = src[1+n:]
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"after":`...)
	if kind == 'D' {
		b = append(b, "null"...)
	} else {
		if len(src) == 0 || src[0] != 'N' {
			return d.key(rel), fmt.Errorf("encoding new row: expected tuple 'N', found %q", src)
		}
		if b, _, err = appendTuple(b, rel, src[1:], false, &d.new); err != nil {
			return d.key(rel), fmt.Errorf("encoding new row: %w", err)
		}
	}
	d.buf = d.appendTrailer(b, rel, walStart, op, index, d.new.toast)
	return d.key(rel), nil
}

// key is the row's company_id (or primary key) text, from the new row when
// there is one, else the table name.
func (d *decoder) key(rel *relation) []byte {
	if len(d.new.key) > 0 && !d.new.keyNull {
		return d.new.key
	}
	if len(d.old.key) > 0 && !d.old.keyNull {
		return d.old.key
	}
	return rel.header
}

// appendTrailer closes an envelope after "after": source, op, ts_ms, index
// and the unchanged TOAST columns.
func (d *decoder) appendTrailer(b []byte, rel *relation, walStart pglogrepl.LSN, op string, index int, toast []string) []byte {
	b = append(b, rel.sourceHead...)
	b = strconv.AppendUint(b, uint64(walStart), 10)
	b = append(b, d.cur.sourceTail...)
	b = append(b, `,"op":"`...)
	b = append(b, op...)
	b = append(b, `","ts_ms":`...)
	b = strconv.AppendInt(b, d.now().UnixMilli(), 10)
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, int64(index), 10)
	if len(toast) > 0 {
		b = append(b, `,"unchangedToast":[`...)
		for i, name := range toast {
			if i > 0 {
				b = append(b, ',')
			}
			b, _ = pgjson.AppendString(b, []byte(name))
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// emit hands an encoded change to the sink, or to the dead-letter topic when
// it is larger than Kafka accepts.
func (d *decoder) emit(rel *relation, index int, op string, walStart pglogrepl.LSN, key, value []byte) {
	size := len(key) + len(value) + 64 + len(rel.header) + len(d.cur.commitHeader)
	if size > d.maxMessageBytes {
		d.deadLetter(rel, index, op, walStart, key, fmt.Errorf("change of %d bytes exceeds the %d-byte message limit", size, d.maxMessageBytes))
		return
	}
	d.out.change(d.cur, d.message(d.topic, rel.header, index, key, value, nil))
}

// message builds a Kafka message owning copies of key and value.
func (d *decoder) message(topic string, table []byte, index int, key, value, errHeader []byte) kafka.Message {
	var num [20]byte
	idx := strconv.AppendInt(num[:0], int64(index), 10)
	block := d.arena.bytes(len(key) + len(idx) + len(value))
	k := copy(block, key)
	i := k + copy(block[k:], idx)
	copy(block[i:], value)
	n := 3
	if errHeader != nil {
		n = 4
	}
	headers := d.arena.headers(n)
	headers[0] = kafka.Header{Key: change.HeaderTable, Value: table}
	headers[1] = kafka.Header{Key: change.HeaderCommitLSN, Value: d.cur.commitHeader}
	headers[2] = kafka.Header{Key: change.HeaderIndex, Value: block[k:i:i]}
	if errHeader != nil {
		headers[3] = kafka.Header{Key: change.HeaderError, Value: errHeader}
	}
	return kafka.Message{Topic: topic, Key: block[:k:k], Value: block[i:], Headers: headers, WriterData: d.cur}
}

const maxErrorHeader = 1000

// deadLetter sends a change that cannot be encoded to the DLQ topic. It
// keeps its index, so the change's identity is the same on both topics.
func (d *decoder) deadLetter(rel *relation, index int, op string, walStart pglogrepl.LSN, key []byte, cause error) {
	t := d.cur
	src := change.Source{Connector: change.Connector, DB: d.rels.db, Table: "unknown", LSN: uint64(walStart),
		CommitLSN: uint64(t.commitLSN), TxID: t.xid, TsMs: t.commitTime.UnixMilli()}
	if rel != nil {
		src.Schema, src.Table = rel.schema, rel.table
		rel.deadLetters.Inc()
	} else {
		d.metrics.DeadLetters.WithLabelValues("unknown").Inc()
	}
	msg := cause.Error()
	if len(msg) > maxErrorHeader {
		msg = msg[:maxErrorHeader]
	}
	value, _ := json.Marshal(change.DeadLetter{Error: msg, Source: src, Op: op, Index: index, TsMs: d.now().UnixMilli()})
	if len(key) == 0 {
		key = []byte(src.Table)
	}
	d.out.change(t, d.message(d.dlqTopic, []byte(src.Table), index, key, value, []byte(msg)))
}
