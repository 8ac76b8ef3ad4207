package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/internal/testenv"
	"github.com/illumera/alignsync/pipeline/translate"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	t   *testing.T
	env *testenv.Env
	l   *Ledger
	ctx context.Context
}

func newFixture(t *testing.T) *fixture {
	env := testenv.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return &fixture{t: t, env: env, l: New(env.Pool), ctx: ctx}
}

// op is a time-entry creation touching entry:id and depending on deps.
func op(id string, deps ...string) translate.Op {
	return translate.Op{Kind: translate.EntryCreate, EntityID: id, Touches: []string{"entry:" + id}, DependsOn: deps,
		Payload: translate.Payload{EntryID: id}}
}

func (f *fixture) record(company string, keys ...string) Recorded {
	f.t.Helper()
	var entries []Entry
	for _, k := range keys {
		entries = append(entries, Entry{CompanyID: company, Key: k, Op: op(k)})
	}
	res, err := f.l.Record(f.ctx, entries)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *fixture) claim(owner string, only ...string) []Lease {
	f.t.Helper()
	got, err := f.l.Claim(f.ctx, owner, 10*time.Second, 10, only)
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

func (f *fixture) readyAt(company string) *time.Time {
	f.t.Helper()
	var at *time.Time
	if err := f.env.Pool.QueryRow(f.ctx, `SELECT ready_at FROM align_sync.lanes WHERE company_id = $1`, company).Scan(&at); err != nil {
		f.t.Fatal(err)
	}
	return at
}

func TestRecordIsIdempotentAndMarksTheCompanyReady(t *testing.T) {
	f := newFixture(t)
	company := uuid.NewString()
	first := f.record(company, "a", "b")
	if len(first.New) != 2 || len(first.Companies) != 1 || first.Companies[0] != company {
		t.Fatalf("first record = %+v, want both keys new for %s", first, company)
	}
	again := f.record(company, "b", "c")
	if again.New["b"] || !again.New["c"] {
		t.Fatalf("second record = %+v, want b left alone and c new", again)
	}
	var n, version int
	_ = f.env.Pool.QueryRow(f.ctx, `SELECT count(*) FROM align_sync.outbox WHERE company_id = $1`, company).Scan(&n)
	_ = f.env.Pool.QueryRow(f.ctx, `SELECT work_version FROM align_sync.lanes WHERE company_id = $1`, company).Scan(&version)
	if n != 3 || version != 2 {
		t.Fatalf("%d operations and work version %d, want 3 and 2 (one bump per record with new work)", n, version)
	}
	if f.readyAt(company) == nil {
		t.Fatal("the company has new work but no ready time")
	}
}

func TestOneLeaseAtATimeAndTheFenceRefusesTheLoser(t *testing.T) {
	f := newFixture(t)
	company := uuid.NewString()
	f.record(company, "a", "b")
	first := f.claim("one")
	if len(first) != 1 || first[0].Takeover {
		t.Fatalf("first claim = %+v, want the company, not a takeover", first)
	}
	if again := f.claim("two"); len(again) != 0 {
		t.Fatalf("a second owner claimed %+v while the lease is held", again)
	}
	w, err := f.l.Window(f.ctx, &first[0], 10)
	if err != nil || len(w.Runnable) != 2 {
		t.Fatalf("window = %+v (%v), want two runnable operations", w, err)
	}
	// The first owner stalls past its lease; the second takes over.
	if _, err := f.env.Pool.Exec(f.ctx, `UPDATE align_sync.lanes SET lease_expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	second := f.claim("two")
	if len(second) != 1 || !second[0].Takeover || second[0].Epoch <= first[0].Epoch {
		t.Fatalf("takeover claim = %+v, want a takeover with a newer epoch than %d", second, first[0].Epoch)
	}
	if _, err := f.l.Start(f.ctx, first[0], w.Runnable[0].ID); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("the stalled owner's write = %v, want ErrLeaseLost", err)
	}
	if err := f.l.Complete(f.ctx, first[0], w.Runnable[0].ID, Run{}, nil); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("the stalled owner's completion = %v, want ErrLeaseLost", err)
	}
	if ok, err := f.l.Start(f.ctx, second[0], w.Runnable[0].ID); err != nil || !ok {
		t.Fatalf("the new owner's write = %v, %v; want it accepted", ok, err)
	}
	lost, err := f.l.Renew(f.ctx, "one", 10*time.Second, first)
	if err != nil || !lost[company] {
		t.Fatalf("renewing the stalled lease: lost %v (%v), want the company reported lost", lost, err)
	}
}

func TestBlockedOperationsWaitUntilTheBlockerIsDone(t *testing.T) {
	f := newFixture(t)
	company := uuid.NewString()
	_, err := f.l.Record(f.ctx, []Entry{
		{CompanyID: company, Key: "user", Op: translate.Op{Kind: translate.UserInvite, EntityID: "t", Touches: []string{"user:t"}}},
		{CompanyID: company, Key: "member", Op: translate.Op{Kind: translate.MemberAdd, EntityID: "e", Touches: []string{"member:e"}, DependsOn: []string{"user:t"}}},
		{CompanyID: company, Key: "other", Op: op("x")},
	})
	if err != nil {
		t.Fatal(err)
	}
	ls := f.claim("one")[0]
	w, _ := f.l.Window(f.ctx, &ls, 10)
	user, member := w.Runnable[0], w.Runnable[1]
	if err := f.l.Park(f.ctx, ls, user.ID, Run{}, "refused", nil, false); err != nil {
		t.Fatal(err)
	}
	if err := f.l.Block(f.ctx, ls, member.ID, user.ID); err != nil {
		t.Fatal(err)
	}
	w, _ = f.l.Window(f.ctx, &ls, 10)
	if len(w.Runnable) != 1 || w.Runnable[0].Key != "other" {
		t.Fatalf("runnable behind a parked invite = %+v, want only the unrelated operation", w.Runnable)
	}
	if err := f.l.Release(f.ctx, ls, time.Time{}, false); err != nil {
		t.Fatal(err)
	}
	if at := f.readyAt(company); at == nil {
		t.Fatal("released with a runnable operation left, but no ready time")
	}

	if n, err := RetryFailed(f.ctx, f.env.Pool, company); err != nil || n != 1 {
		t.Fatalf("RetryFailed reset %d (%v), want 1", n, err)
	}
	ls = f.claim("one")[0]
	w, _ = f.l.Window(f.ctx, &ls, 10)
	if len(w.Runnable) != 2 || w.Runnable[0].Key != "user" {
		t.Fatalf("after Retry Failed runnable = %+v, want the invite first, the member still held", w.Runnable)
	}
	if err := f.l.Complete(f.ctx, ls, w.Runnable[0].ID, Run{}, []Link{{EntityType: "user", IllumeraID: "t", AlignID: "u1"}}); err != nil {
		t.Fatal(err)
	}
	w, _ = f.l.Window(f.ctx, &ls, 10)
	if len(w.Runnable) != 2 || w.Runnable[0].Key != "member" {
		t.Fatalf("after the invite is done runnable = %+v, want the member freed", w.Runnable)
	}
	var align string
	_ = f.env.Pool.QueryRow(f.ctx, `SELECT align_id FROM align_sync.entity_links WHERE company_id = $1 AND illumera_id = 't'`, company).Scan(&align)
	if align != "u1" {
		t.Fatalf("link = %q, want the invite's u1 written with its completion", align)
	}
}

func TestReleaseWorksOutTheNextReadyTime(t *testing.T) {
	f := newFixture(t)
	company := uuid.NewString()
	f.record(company, "a")
	ls := f.claim("one")[0]
	w, _ := f.l.Window(f.ctx, &ls, 10)
	due := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if err := f.l.Retry(f.ctx, ls, w.Runnable[0].ID, Run{}, "503", due, false); err != nil {
		t.Fatal(err)
	}
	if err := f.l.Release(f.ctx, ls, time.Time{}, false); err != nil {
		t.Fatal(err)
	}
	if at := f.readyAt(company); at == nil || !at.Equal(due) {
		t.Fatalf("ready at %v, want the retry's due time %v", at, due)
	}
	if got := f.claim("one"); len(got) != 0 {
		t.Fatalf("claimed %+v before its retry is due", got)
	}

	// Work recorded after the executor's last look: ready at once.
	ls = f.claim("one", company)[0]
	if _, err := f.l.Window(f.ctx, &ls, 10); err != nil {
		t.Fatal(err)
	}
	f.record(company, "b")
	if err := f.l.Release(f.ctx, ls, time.Time{}, false); err != nil {
		t.Fatal(err)
	}
	if at := f.readyAt(company); at == nil || at.After(time.Now()) {
		t.Fatalf("ready at %v, want now: work arrived after the executor looked", at)
	}
}

func TestClaimTakesTheLongestWaitingCompanyFirst(t *testing.T) {
	f := newFixture(t)
	busy, quiet := uuid.NewString(), uuid.NewString()
	f.record(busy, "b1", "b2", "b3")
	ls := f.claim("one")[0]
	if err := f.l.Release(f.ctx, ls, time.Time{}, false); err != nil { // a turn: to the back of the line
		t.Fatal(err)
	}
	f.record(quiet, "q1")
	got, err := f.l.Claim(f.ctx, "two", 10*time.Second, 1, nil)
	if err != nil || len(got) != 1 || got[0].CompanyID != quiet {
		t.Fatalf("claimed %+v (%v), want %s: it never had a turn, %s just had one", got, err, quiet, busy)
	}
}

func TestListNamesEachOperationsEntity(t *testing.T) {
	f := newFixture(t)
	company, project, talent, eng, entry := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO companies (id, name) VALUES ($1, 'Acme')`, []any{company}},
		{`INSERT INTO talent (id, email, full_name) VALUES ($1, 'ada@example.com', 'Ada Lovelace')`, []any{talent}},
		{`INSERT INTO projects (id, company_id, title) VALUES ($1, $2, 'Radar')`, []any{project, company}},
		{`INSERT INTO engagements (id, company_id, project_id, talent_id, rate_cents) VALUES ($1, $2, $3, $4, 9000)`, []any{eng, company, project, talent}},
		{`INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes)
			VALUES ($1, $2, $3, $4, $5, '2026-11-20', 90)`, []any{entry, company, eng, project, talent}},
	} {
		f.env.Exec(t, q.sql, q.args...)
	}
	_, err := f.l.Record(f.ctx, []Entry{
		{CompanyID: company, Key: "p", Op: translate.Op{Kind: translate.ProjectCreate, EntityID: project}},
		{CompanyID: company, Key: "w", Op: translate.Op{Kind: translate.WikiWrite, EntityID: project}},
		{CompanyID: company, Key: "u", Op: translate.Op{Kind: translate.UserInvite, EntityID: talent}},
		{CompanyID: company, Key: "m", Op: translate.Op{Kind: translate.MemberAdd, EntityID: eng}},
		{CompanyID: company, Key: "e", Op: translate.Op{Kind: translate.EntryCreate, EntityID: entry}},
		{CompanyID: company, Key: "gone", Op: translate.Op{Kind: translate.EntryCreate, EntityID: "not-a-uuid"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	items, total, err := List(f.ctx, f.env.Pool, company, "", 50, 0)
	if err != nil || total != 6 {
		t.Fatalf("listed %d of %d (%v)", len(items), total, err)
	}
	want := []string{ // newest first
		"time entry no longer in Illumera",
		"Time entry of Ada Lovelace on 2026-11-20, 90 min (“Radar”)",
		"Ada Lovelace on “Radar”",
		"Ada Lovelace <ada@example.com>",
		"Staffing plan of “Radar”",
		"Project “Radar”",
	}
	for i, it := range items {
		if it.Subject != want[i] {
			t.Errorf("item %d (%s) subject = %q, want %q", i, it.Op, it.Subject, want[i])
		}
	}
	if n, err := FailedCount(f.ctx, f.env.Pool, company); err != nil || n != 0 {
		t.Fatalf("failed count = %d (%v), want 0", n, err)
	}
}

// TestRenewAndRecordNeverDeadlock: one sink renews its leases while another
// records work for the same companies, many times over. Both lock several
// lanes; unless they take the row locks in one order, PostgreSQL aborts one
// of them (40P01): the soak of the system test logged it once.
func TestRenewAndRecordNeverDeadlock(t *testing.T) {
	f := newFixture(t)
	companies := []string{uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()}
	slices.Sort(companies)
	record := func(i int) error {
		var entries []Entry
		for _, c := range companies {
			entries = append(entries, Entry{CompanyID: c, Key: fmt.Sprintf("%s-%d", c, i), Op: op(fmt.Sprint(i))})
		}
		_, err := f.l.Record(f.ctx, entries)
		return err
	}
	if err := record(0); err != nil {
		t.Fatal(err)
	}
	leases := f.claim("sink-b", companies...)
	if len(leases) != len(companies) {
		t.Fatalf("claimed %d of %d companies", len(leases), len(companies))
	}
	slices.Reverse(leases) // the scheduler hands them over in any order
	const rounds = 300
	errs := make(chan error, 2*rounds)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; i <= rounds; i++ {
			errs <- record(i)
		}
	})
	wg.Go(func() {
		for range rounds {
			_, err := f.l.Renew(f.ctx, "sink-b", 10*time.Second, leases)
			errs <- err
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a recording or a renewal failed: %v", err)
		}
	}
}

// A first run is recorded at its end: the attempt counted, its start put
// back by its duration on the database's clock; a refused run gives the
// attempt back.
func TestARunIsCountedAtItsEnd(t *testing.T) {
	f := newFixture(t)
	company := uuid.NewString()
	f.record(company, "a", "b")
	ls := f.claim("one")[0]
	w, _ := f.l.Window(f.ctx, &ls, 10)
	if err := f.l.Complete(f.ctx, ls, w.Runnable[0].ID, Run{Took: 250 * time.Millisecond}, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.l.Retry(f.ctx, ls, w.Runnable[1].ID, Run{Took: time.Millisecond}, "429", time.Now(), true); err != nil {
		t.Fatal(err)
	}
	var attempts, refunded int
	var took float64
	if err := f.env.Pool.QueryRow(f.ctx, `SELECT a.attempts, extract(epoch FROM a.done_at - a.started_at), b.attempts
		FROM align_sync.outbox a, align_sync.outbox b WHERE a.id = $1 AND b.id = $2`,
		w.Runnable[0].ID, w.Runnable[1].ID).Scan(&attempts, &took, &refunded); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 || took < 0.249 || took > 0.3 || refunded != 0 {
		t.Fatalf("first run: %d attempts over %.3fs, refused run: %d attempts; want 1 over 0.25s, and 0", attempts, took, refunded)
	}
}
