package pipeline

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/pipeline/ledger"
	"github.com/illumera/alignsync/pipeline/translate"
)

func TestDependenciesPredatingTheConnectionAreSyncedInOrder(t *testing.T) {
	h := newHarness(t)
	company, org := h.connect("Globex")
	f := h.seed(company) // project, engagement and entry all exist; only the entry's change arrives
	h.startSink(Config{})
	h.emit("time_entries", "c", nil, f.entryRow("draft", 100))

	st := h.waitFor(org, "the entry with its dependencies", func(s alignsim.State) bool { return len(s.TimeEntries) == 1 })
	if len(st.Projects) != 1 || len(st.Members) != 1 {
		t.Fatalf("projects %d, members %d: want the project and the membership synced first", len(st.Projects), len(st.Members))
	}
	var user alignsim.User
	for _, u := range st.Users {
		if u.Email == f.email {
			user = u
		}
	}
	p, m, e := st.Projects[0].CreatedAt, st.Members[0].AddedAt, st.TimeEntries[0].CreatedAt
	if user.ID == "" || p.After(user.CreatedAt) || user.CreatedAt.After(m) || m.After(e) {
		t.Fatalf("created project %v, user %v, member %v, entry %v: want that order", p, user.CreatedAt, m, e)
	}
	if st.TimeEntries[0].Status != "draft" || st.TimeEntries[0].UserID != user.ID {
		t.Fatalf("entry = %+v, want a draft by Ada", st.TimeEntries[0])
	}
}

func TestReplayFromTheStartCallsAlignForNothing(t *testing.T) {
	h := newHarness(t)
	company, org := h.connect("Initech")
	f := h.seed(company)
	h.startSink(Config{})
	h.emit("projects", "c", nil, f.projectRow("active"))
	h.emit("engagements", "c", nil, f.engagementRow("accepted"))
	h.emit("time_entries", "c", nil, f.entryRow("submitted", 100))
	h.waitOutbox(company, "first run done", func(c map[string]int) bool { return c["done"] == 6 && len(c) == 1 })
	before := h.waitFor(org, "first run", func(s alignsim.State) bool { return len(s.TimeEntries) == 1 })

	// A second group starts from offset 0: the whole topic again.
	reg := prometheus.NewRegistry()
	replay := h.startSinkWithRegistry(Config{Group: "replay"}, reg)
	h.waitFor(org, "nothing", func(alignsim.State) bool { return true })
	waitCounter(t, func() float64 {
		return testutil.ToFloat64(replay.metrics.operations.WithLabelValues("time_entry", string(translate.EntrySubmit), "duplicate"))
	}, 1)
	after, _ := h.env.Align.Control.State(context.Background(), org.OrganizationID)
	if len(after.Projects) != len(before.Projects) || len(after.Users) != len(before.Users) || len(after.Members) != len(before.Members) ||
		len(after.TimeEntries) != len(before.TimeEntries) || len(after.WikiPages) != len(before.WikiPages) {
		t.Fatalf("replay changed Align: before %d/%d/%d/%d/%d, after %d/%d/%d/%d/%d", len(before.Projects), len(before.Users),
			len(before.Members), len(before.TimeEntries), len(before.WikiPages), len(after.Projects), len(after.Users),
			len(after.Members), len(after.TimeEntries), len(after.WikiPages))
	}
	if n := testutil.CollectAndCount(replay.metrics.requests); n != 0 {
		t.Fatalf("the replay made Align requests on %d routes, want none", n)
	}
	if c := h.outboxCounts(company); c["done"] != 6 || len(c) != 1 {
		t.Fatalf("outbox after replay = %v, want the same 6 done operations", c)
	}
}

func TestRevokedKeyParksOnlyThatCompany(t *testing.T) {
	h := newHarness(t)
	a, orgA := h.connect("Revoked Co")
	b, orgB := h.connect("Healthy Co")
	fa, fb := h.seed(a), h.seed(b)
	h.startSink(Config{})
	h.emit("projects", "c", nil, fa.projectRow("active"))
	h.waitFor(orgA, "A's project", func(s alignsim.State) bool { return len(s.Projects) == 1 && len(s.WikiPages) == 1 })

	revokeOrgKey(t, h, orgA)
	h.emit("engagements", "c", nil, fa.engagementRow("accepted"))
	h.emit("time_entries", "c", nil, fa.entryRow("submitted", 100))
	h.emit("projects", "c", nil, fb.projectRow("active"))
	h.emit("engagements", "c", nil, fb.engagementRow("accepted"))
	h.emit("time_entries", "c", nil, fb.entryRow("submitted", 100))

	h.waitFor(orgB, "B fully synced", func(s alignsim.State) bool {
		return len(s.TimeEntries) == 1 && s.TimeEntries[0].Status == "submitted"
	})
	h.waitOutbox(b, "B's operations done", func(c map[string]int) bool { return c["done"] == 6 && len(c) == 1 })
	// The invite meets the revoked key and parks; what depends on it waits behind it.
	counts := h.waitOutbox(a, "A's later operations parked", func(c map[string]int) bool {
		return c["done"] == 2 && c["failed"] == 1 && c["pending"] == 3
	})
	h.keys.mu.Lock()
	msg := h.keys.errors[a]
	h.keys.mu.Unlock()
	if !strings.Contains(msg, "401") || !strings.Contains(msg, "key_revoked") {
		t.Fatalf("connection error = %q, want the 401 key_revoked message (outbox %v)", msg, counts)
	}
	var attempts int
	if err := h.env.Pool.QueryRow(context.Background(), `SELECT coalesce(max(attempts), 0) FROM align_sync.outbox
		WHERE company_id = $1 AND status <> 'done'`, a).Scan(&attempts); err != nil || attempts != 0 {
		t.Fatalf("parked operations spent %d attempts (%v), want none", attempts, err)
	}
}

// revokeOrgKey revokes the org key the harness connected with.
func revokeOrgKey(t *testing.T, h *harness, org alignsim.Org) {
	t.Helper()
	ctx := context.Background()
	req, _ := newMeRequest(ctx, h.env.Align.BaseURL, org.OrgKey)
	var me struct {
		APIKeyID string `json:"apiKeyId"`
	}
	if err := doJSON(req, &me); err != nil {
		t.Fatal(err)
	}
	if err := h.env.Align.Control.RevokeKey(ctx, me.APIKeyID); err != nil {
		t.Fatal(err)
	}
}

func TestFailedOperationBlocksOnlyItsDependents(t *testing.T) {
	h := newHarness(t)
	company, org := h.connect("Blocked Co")
	f := h.seed(company)
	// Align refuses an empty name: the invite fails permanently.
	h.exec(`UPDATE talent SET full_name = '' WHERE id = $1`, f.talent)
	other := uuid.NewString()
	h.exec(`INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'Unrelated', 'draft')`, other, company)
	h.startSink(Config{})

	h.emit("projects", "c", nil, f.projectRow("active"))
	h.emit("engagements", "c", nil, f.engagementRow("accepted"))
	h.emit("time_entries", "c", nil, f.entryRow("submitted", 100))
	h.emit("projects", "c", nil, row("id", other, "company_id", company, "title", "Unrelated", "status", "draft"))

	h.waitFor(org, "both projects", func(s alignsim.State) bool { return len(s.Projects) == 2 })
	counts := h.waitOutbox(company, "the invite failed and its dependents waiting", func(c map[string]int) bool {
		return c["failed"] == 1 && c["pending"] == 3 && c["done"] == 3
	})
	st, _ := h.env.Align.Control.State(context.Background(), org.OrganizationID)
	if len(st.Members) != 0 || len(st.TimeEntries) != 0 {
		t.Fatalf("dependents ran past the failed invite: members %d, entries %d (outbox %v)", len(st.Members), len(st.TimeEntries), counts)
	}

	h.exec(`UPDATE talent SET full_name = 'Ada Lovelace' WHERE id = $1`, f.talent)
	n, err := ledger.RetryFailed(context.Background(), h.env.Pool, company)
	if err != nil || n != 1 {
		t.Fatalf("RetryFailed reset %d (%v), want 1", n, err)
	}
	h.waitOutbox(company, "everything done after Retry Failed", func(c map[string]int) bool { return c["done"] == 7 && len(c) == 1 })
	st = h.waitFor(org, "the entry", func(s alignsim.State) bool { return len(s.TimeEntries) == 1 && s.TimeEntries[0].Status == "submitted" })
	if len(st.Members) != 1 {
		t.Fatalf("members = %d after retry, want 1", len(st.Members))
	}
}
