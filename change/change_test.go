package change

import (
	"encoding/json"
	"testing"
)

func TestIDRoundTrips(t *testing.T) {
	id := ID{CommitLSN: 23852960, Index: 3}
	if id.String() != "23852960/3" {
		t.Fatalf("String = %q, want 23852960/3", id.String())
	}
	got, err := ParseID(id.String())
	if err != nil || got != id {
		t.Fatalf("ParseID = %+v, %v; want %+v", got, err, id)
	}
	for _, bad := range []string{"0/16B37A0#3", "23852960:3", "x/1", "1/-1", ""} {
		if _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) accepted a foreign spelling", bad)
		}
	}
}

func TestDecodeKeepsNumbersExact(t *testing.T) {
	e := Envelope{After: map[string]any{"id": "p1", "rate_cents": 12345678901234}, Op: OpCreate, Index: 2,
		Source: Source{Connector: Connector, Table: "engagements", CommitLSN: 99}, UnchangedToast: []string{"description"}}
	raw, _ := json.Marshal(e)
	got, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := got.After["rate_cents"].(json.Number); !ok || n.String() != "12345678901234" {
		t.Fatalf("rate_cents decoded as %#v, want the exact json.Number", got.After["rate_cents"])
	}
	if got.ID() != (ID{CommitLSN: 99, Index: 2}) || got.UnchangedToast[0] != "description" {
		t.Fatalf("decoded %+v", got)
	}
	for _, bad := range []string{`{"op":"c","source":{}}`, `{"source":{"table":"x"}}`, `not json`} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%s) accepted it", bad)
		}
	}
}
