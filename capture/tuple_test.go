package capture

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/jackc/pglogrepl"
	"github.com/prometheus/client_golang/prometheus"
)

// testRelation is a relation of (id int8 key, company_id uuid, body text).
func testRelation(t testing.TB) *relation {
	r := newRelations("db", func(_ context.Context, _ uint32) ([]string, error) { return []string{"id"}, nil }, NewMetrics(prometheus.NewRegistry()))
	err := r.add(context.Background(), &pglogrepl.RelationMessage{RelationID: 1, Namespace: "public", RelationName: "t", Columns: []*pglogrepl.RelationMessageColumn{
		{Flags: 1, Name: "id", DataType: 20}, {Name: "company_id", DataType: 2950}, {Name: "body", DataType: 25},
	}})
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := r.get(1)
	return rel
}

// tupleBytes encodes pgoutput TupleData; a nil value is NULL, "\x00u" an
// unchanged TOAST value.
func tupleBytes(values ...*string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(values)))
	for _, v := range values {
		switch {
		case v == nil:
			b = append(b, 'n')
		case *v == "\x00u":
			b = append(b, 'u')
		default:
			b = append(b, 't')
			b = binary.BigEndian.AppendUint32(b, uint32(len(*v)))
			b = append(b, *v...)
		}
	}
	return b
}

func ptr(s string) *string { return &s }

func TestAppendTuple(t *testing.T) {
	rel := testRelation(t)
	var out row
	got, n, err := appendTuple(nil, rel, tupleBytes(ptr("7"), ptr(company), ptr("\x00u")), false, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":7,"company_id":"` + company + `"}`
	if string(got) != want || string(out.key) != company || len(out.toast) != 1 || out.toast[0] != "body" || n != len(tupleBytes(ptr("7"), ptr(company), ptr("\x00u"))) {
		t.Fatalf("appendTuple = %s (n %d), key %q, toast %v", got, n, out.key, out.toast)
	}
	out.reset()
	got, _, err = appendTuple(nil, rel, tupleBytes(ptr("7"), nil, nil), true, &out)
	if err != nil || string(got) != `{"id":7}` {
		t.Fatalf("identity-only tuple = %s, %v", got, err)
	}
}

// FuzzAppendTuple: malformed tuple data is an error, never a panic, and what
// is accepted is valid JSON.
func FuzzAppendTuple(f *testing.F) {
	f.Add(tupleBytes(ptr("1"), ptr(company), ptr("x")))
	f.Add(tupleBytes(ptr("1"), nil, ptr("\x00u")))
	f.Add([]byte{0, 3, 't', 0xff, 0xff, 0xff, 0xff})
	rel := testRelation(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var out row
		got, _, err := appendTuple(nil, rel, data, false, &out)
		if err == nil && !json.Valid(got) {
			t.Fatalf("accepted %x as %s, not JSON", data, got)
		}
	})
}
