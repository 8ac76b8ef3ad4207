package ledger

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Record announces every company it recorded new work for on WorkChannel,
// once per commit, in notifications small enough for PostgreSQL, and
// announces nothing for keys it had already.
func TestRecordAnnouncesTheCompaniesWithNewWork(t *testing.T) {
	f := newFixture(t)
	conn, err := pgx.ConnectConfig(f.ctx, f.env.Pool.Config().ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(f.ctx, "LISTEN "+WorkChannel); err != nil {
		t.Fatal(err)
	}
	var entries []Entry
	var want []string
	for i := range 450 { // more than two notifications' worth
		c := uuid.NewString()
		want = append(want, c)
		entries = append(entries, Entry{CompanyID: c, Key: "k" + c, Op: op("e" + c)})
		if i%3 == 0 { // a company with two operations is announced once
			entries = append(entries, Entry{CompanyID: c, Key: "k2" + c, Op: op("f" + c)})
		}
	}
	if _, err := f.l.Record(f.ctx, entries); err != nil {
		t.Fatal(err)
	}
	if _, err := f.l.Record(f.ctx, entries[:10]); err != nil { // a redelivery: nothing new
		t.Fatal(err)
	}
	marker := uuid.NewString()
	f.record(marker, "after")

	var got []string
	notifications := 0
	for {
		ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
		n, err := conn.WaitForNotification(ctx)
		cancel()
		if err != nil {
			t.Fatalf("after %d notifications: %v", notifications, err)
		}
		if len(n.Payload) >= 8000 {
			t.Fatalf("a notification of %d bytes: PostgreSQL refuses 8,000 or more", len(n.Payload))
		}
		origin, companies := ParseWork(n.Payload)
		if origin != "" {
			t.Fatalf("origin %q, want none from New", origin)
		}
		if slices.Equal(companies, []string{marker}) {
			break
		}
		notifications++
		got = append(got, companies...)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("announced %d companies in %d notifications, want the %d recorded, each once", len(got), notifications, len(want))
	}
	if notifications != 3 {
		t.Fatalf("%d notifications for 450 companies, want 3 (200 a notification)", notifications)
	}
}

func TestParseWork(t *testing.T) {
	l := NewOrigin(nil, "sink-a/12/x")
	if l.origin != "sink-a/12/x" {
		t.Fatalf("origin = %q", l.origin)
	}
	for payload, want := range map[string][2]string{
		"sink-a/12/x c1,c2": {"sink-a/12/x", "c1|c2"},
		" c1":               {"", "c1"},
	} {
		origin, companies := ParseWork(payload)
		if origin != want[0] || strings.Join(companies, "|") != want[1] {
			t.Errorf("ParseWork(%q) = %q, %q; want %q, %q", payload, origin, companies, want[0], want[1])
		}
	}
}
