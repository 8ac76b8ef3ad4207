package capture

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/illumera/alignsync/capture/internal/pgjson"
)

// row collects what encoding a tuple finds besides the JSON itself; it is
// reused from change to change.
type row struct {
	key     []byte   // text of the key columns, joined by ','
	keyNull bool     // a key column was NULL
	toast   []string // unchanged TOAST columns
}

func (r *row) reset() {
	r.key, r.keyNull, r.toast = r.key[:0], false, r.toast[:0]
}

var errShortTuple = errors.New("tuple data ends early")

// appendTuple encodes pgoutput TupleData (Int16 count, then per column a
// kind byte 'n', 'u' or 't', the last with Int32 length and text) as a JSON
// object, reading src in place. Unchanged TOAST columns ('u') are left out
// and named in out.toast. With identOnly (an old tuple of kind 'K') only
// replica identity columns are written: the others arrive as NULL without
// being NULL. It returns the number of bytes of src it consumed.
func appendTuple(dst []byte, rel *relation, src []byte, identOnly bool, out *row) ([]byte, int, error) {
	if len(src) < 2 {
		return dst, 0, errShortTuple
	}
	if n := int(binary.BigEndian.Uint16(src)); n != len(rel.cols) {
		return dst, 0, fmt.Errorf("tuple has %d columns, relation %s.%s has %d", n, rel.schema, rel.table, len(rel.cols))
	}
	pos, first := 2, true
	dst = append(dst, '{')
	for i := range rel.cols {
		col := &rel.cols[i]
		if pos >= len(src) {
			return dst, 0, errShortTuple
		}
		kind := src[pos]
		pos++
		var text []byte
		if kind == 't' {
			var err error
			if text, pos, err = readText(src, pos); err != nil {
				return dst, 0, err
			}
		}
		switch {
		case kind == 'u':
			out.toast = append(out.toast, col.name)
			continue
		case identOnly && !col.ident:
			continue
		case kind != 't' && kind != 'n':
			return dst, 0, fmt.Errorf("column %s: unsupported tuple data kind %q", col.name, kind)
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, col.field...)
		var err error
		if dst, err = appendColumn(dst, col, kind, text, out); err != nil {
			return dst, 0, err
		}
	}
	return append(dst, '}'), pos, nil
}

func readText(src []byte, pos int) ([]byte, int, error) {
	if pos+4 > len(src) {
		return nil, 0, errShortTuple
	}
	l := int(binary.BigEndian.Uint32(src[pos:]))
	pos += 4
	if l < 0 || pos+l > len(src) {
		return nil, 0, errShortTuple
	}
	return src[pos : pos+l], pos + l, nil
}

func appendColumn(dst []byte, col *column, kind byte, text []byte, out *row) ([]byte, error) {
	if kind == 'n' {
		out.keyNull = out.keyNull || col.key
		return append(dst, "null"...), nil
	}
	dst, err := pgjson.AppendValue(dst, col.kind, col.elem, text)
	if err != nil {
		return dst, fmt.Errorf("column %s: %w", col.name, err)
	}
	if col.key {
		if len(out.key) > 0 {
			out.key = append(out.key, ',')
		}
		out.key = append(out.key, text...)
	}
	return dst, nil
}
