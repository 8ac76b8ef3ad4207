package reconcile

import (
	"testing"
	"time"

	"github.com/illumera/alignsync/sinks/align"
)

func TestEntryCostRoundsHalfUpPerEntry(t *testing.T) {
	for _, tc := range []struct {
		minutes int
		rate    int64
		want    int64
	}{
		{100, 9000, 15000},
		{1, 90, 2},        // 1.5 -> 2
		{1, 89, 1},        // 1.483 -> 1
		{1, 30, 1},        // 0.5 -> 1
		{1, 29, 0},        // 0.483 -> 0
		{45, 12345, 9259}, // 9258.75 -> 9259
		{60, 0, 0},
	} {
		if got := entryCost(tc.minutes, tc.rate); got != tc.want {
			t.Errorf("entryCost(%d, %d) = %d, want %d", tc.minutes, tc.rate, got, tc.want)
		}
	}
}

func alignEntry(externalID, status string, minutes int, cost int64) align.TimeEntry {
	return align.TimeEntry{ID: "a-" + externalID, ExternalSystem: provider, ExternalID: externalID,
		Status: align.TimeEntryStatus(status), Minutes: minutes, CostCents: &cost}
}

func TestDiscrepanciesIgnoreCostNoiseUpTo100Cents(t *testing.T) {
	for _, tc := range []struct {
		name         string
		illRate      int64
		alignCost    int64
		alignMinutes int
		wantFields   []string
	}{
		{"equal", 9000, 9000, 60, nil},
		{"cost 100 over", 9100, 9000, 60, nil},
		{"cost 100 under", 8900, 9000, 60, nil},
		{"cost 101 over", 9101, 9000, 60, []string{FieldApprovedCostCents}},
		{"cost 101 under", 8899, 9000, 60, []string{FieldApprovedCostCents}},
		{"one minute, cost within noise", 9000, 9000, 61, []string{FieldApprovedMinutes}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ill := []illumeraEntry{{ID: "e1", Minutes: 60, Status: "approved", RateCents: tc.illRate, Linked: true}}
			c := compare(ill, []align.TimeEntry{alignEntry("e1", "approved", tc.alignMinutes, tc.alignCost)})
			var got []string
			for _, d := range c.discrepancies() {
				got = append(got, d.Field)
			}
			if len(got) != len(tc.wantFields) || (len(got) > 0 && got[0] != tc.wantFields[0]) {
				t.Fatalf("discrepancies = %v, want %v (comparison %+v)", got, tc.wantFields, c)
			}
		})
	}
}

func TestCompareCountsOnlyApprovedAndIntegrationEntries(t *testing.T) {
	ill := []illumeraEntry{
		{ID: "e1", Minutes: 100, Status: "approved", RateCents: 9000, Linked: true},
		{ID: "e2", Minutes: 100, Status: "invoiced", RateCents: 9000, Linked: true},
		{ID: "e3", Minutes: 100, Status: "submitted", RateCents: 9000, Linked: true}, // Align approved it: missed webhook
		{ID: "e4", Minutes: 30, Status: "draft", RateCents: 9000},                    // never reached Align
		{ID: "e5", Minutes: 30, Status: "draft", RateCents: 9000, InFlight: true},    // on its way
	}
	foreign := align.TimeEntry{ID: "x", ExternalSystem: "jira", ExternalID: "J-1", Status: "approved", Minutes: 999}
	al := []align.TimeEntry{
		alignEntry("e1", "approved", 100, 15000),
		alignEntry("e2", "invoiced", 100, 15000),
		alignEntry("e3", "locked", 100, 15000),
		foreign,
	}
	c := compare(ill, al)
	if c.IllumeraMinutes != 200 || c.AlignMinutes != 300 || c.IllumeraCost != 30000 || c.AlignCost != 45000 {
		t.Fatalf("totals = %+v, want minutes 200/300, cost 30000/45000", c)
	}
	if c.IllumeraEntries != 5 || c.AlignEntries != 3 || c.ForeignEntries != 1 || c.Compared != 5 {
		t.Fatalf("counts = %+v, want 5 Illumera, 3 Align, 1 foreign, 5 compared", c)
	}
	if len(c.Ahead) != 1 || c.Ahead[0].EntryID != "e3" || c.Ahead[0].To != "locked" {
		t.Fatalf("ahead = %+v, want e3 -> locked", c.Ahead)
	}
	if len(c.Missing) != 1 || c.Missing[0] != "e4" {
		t.Fatalf("missing = %v, want e4 only", c.Missing)
	}
}

func TestAheadNeverUndoesAResubmission(t *testing.T) {
	rejectedAt := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	before, after := rejectedAt.Add(-time.Minute), rejectedAt.Add(time.Minute)
	for _, tc := range []struct {
		name  string
		ill   illumeraEntry
		align string
		want  bool
	}{
		{"approved over submitted", illumeraEntry{Status: "submitted"}, "approved", true},
		{"invoiced over approved", illumeraEntry{Status: "approved"}, "invoiced", true},
		{"approved over rejected (resubmitted and approved)", illumeraEntry{Status: "rejected"}, "approved", true},
		{"same status", illumeraEntry{Status: "locked"}, "locked", false},
		{"Align behind", illumeraEntry{Status: "invoiced"}, "approved", false},
		{"Align draft", illumeraEntry{Status: "draft"}, "draft", false},
		{"rejected after Illumera's last change", illumeraEntry{Status: "submitted", UpdatedAt: before}, "rejected", true},
		{"rejected, but Illumera changed since (resubmitted)", illumeraEntry{Status: "submitted", UpdatedAt: after}, "rejected", false},
		{"rejected, but an operation is on its way", illumeraEntry{Status: "submitted", UpdatedAt: before, InFlight: true}, "rejected", false},
		{"rejected over approved", illumeraEntry{Status: "approved", UpdatedAt: before}, "rejected", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := align.TimeEntry{Status: align.TimeEntryStatus(tc.align), UpdatedAt: rejectedAt}
			if got := ahead(tc.ill, a); got != tc.want {
				t.Fatalf("ahead = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLinkProblems(t *testing.T) {
	known := map[linkKey]string{
		{"project", "p1"}:    "A-p1",
		{"talent", "t1"}:     "A-u1",
		{"time_entry", "e1"}: "A-e9",
	}
	links := []dbLink{
		{"project", "p1", "A-p1"},
		{"user", "t1", "A-u1"},
		{"time_entry", "e1", "A-e1"},
		{"wiki_page", "p1", "A-w1"},
		{"project_member", "m1", "A-p1/A-u1"},
	}
	got := linkProblems(links, known)
	if len(got) != 2 || got[0].Problem != LinkPointsElsewhere || got[0].AlignSays != "A-e9" ||
		got[1].Problem != LinkUnknownToAlign || got[1].EntityType != "wiki_page" {
		t.Fatalf("problems = %+v, want the entry pointing elsewhere and the unknown wiki page", got)
	}
}

func TestParseWindow(t *testing.T) {
	now := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in, start, end string
	}{
		{"7d", "2026-11-19", "2026-11-26"},
		{"1d", "2026-11-25", "2026-11-26"},
		{"all", "", ""},
		{"2026-11-01..2026-11-30", "2026-11-01", "2026-11-30"},
	} {
		w, err := ParseWindow(tc.in)
		if err != nil {
			t.Fatalf("ParseWindow(%q): %v", tc.in, err)
		}
		if s, e := w.Dates(now); s != tc.start || e != tc.end || w.String() != tc.in {
			t.Errorf("%q: dates %s..%s (string %q), want %s..%s", tc.in, s, e, w.String(), tc.start, tc.end)
		}
	}
	for _, bad := range []string{"", "0d", "-3d", "week", "2026-11-30..2026-11-01", "2026-11-01..", "7"} {
		if _, err := ParseWindow(bad); err == nil {
			t.Errorf("ParseWindow(%q) accepted", bad)
		}
	}
}

func TestScheduleNext(t *testing.T) {
	s, err := ParseSchedule("02:00")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ now, want string }{
		{"2026-11-26T01:59:59Z", "2026-11-26T02:00:00Z"},
		{"2026-11-26T02:00:00Z", "2026-11-27T02:00:00Z"},
		{"2026-11-26T23:00:00Z", "2026-11-27T02:00:00Z"},
		{"2026-11-26T03:30:00+02:00", "2026-11-26T02:00:00Z"}, // 01:30 UTC: the slot is UTC
	} {
		now, _ := time.Parse(time.RFC3339, tc.now)
		want, _ := time.Parse(time.RFC3339, tc.want)
		if got := s.Next(now); !got.Equal(want) {
			t.Errorf("Next(%s) = %s, want %s", tc.now, got, want)
		}
	}
	for _, bad := range []string{"2am", "25:00", "02:60", ""} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", bad)
		}
	}
}
