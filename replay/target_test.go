package replay

import (
	"testing"
	"time"
)

func TestPlanClampsToTheTopicRange(t *testing.T) {
	// The topic holds offsets 10 to 49 (log start 10, end 50).
	held := func(committed, atTime int64) partitionState {
		return partitionState{Start: 10, End: 50, Committed: committed, AtTime: atTime}
	}
	for _, tc := range []struct {
		name                  string
		target                Target
		state                 partitionState
		want, redeliver, skip int64
		clamped               bool
	}{
		{"earliest", Target{Kind: ToEarliest}, held(30, -1), 10, 20, 0, false},
		{"latest", Target{Kind: ToLatest}, held(30, -1), 50, 0, 20, false},
		{"earliest without a commit", Target{Kind: ToEarliest}, held(-1, -1), 10, 0, 0, false},
		{"datetime", Target{Kind: ToDatetime}, held(30, 25), 25, 5, 0, false},
		{"datetime after everything", Target{Kind: ToDatetime}, held(30, -1), 50, 0, 20, false},
		{"offset", Target{Kind: ToOffset, Offset: 42}, held(30, -1), 42, 0, 12, false},
		{"offset beyond the end", Target{Kind: ToOffset, Offset: 999}, held(30, -1), 50, 0, 20, true},
		{"offset before the start", Target{Kind: ToOffset, Offset: 3}, held(30, -1), 10, 20, 0, true},
		{"shift back", Target{Kind: ShiftBy, Offset: -5}, held(30, -1), 25, 5, 0, false},
		{"shift back too far", Target{Kind: ShiftBy, Offset: -100}, held(30, -1), 10, 20, 0, true},
		{"shift forward too far", Target{Kind: ShiftBy, Offset: 100}, held(30, -1), 50, 0, 20, true},
		{"shift without a commit starts from the log start", Target{Kind: ShiftBy, Offset: 5}, held(-1, -1), 15, 0, 5, false},
		{"commit below a truncated log", Target{Kind: ToEarliest}, held(2, -1), 10, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := plan(3, tc.target, tc.state)
			if got.New != tc.want || got.Redeliver != tc.redeliver || got.Skip != tc.skip || got.Clamped != tc.clamped ||
				got.Partition != 3 || got.Current != tc.state.Committed {
				t.Fatalf("plan = %+v, want new %d, redeliver %d, skip %d, clamped %v", got, tc.want, tc.redeliver, tc.skip, tc.clamped)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for _, s := range []string{"2026-11-25T00:00:00Z", "2026-11-25T01:00:00+01:00", "2026-11-25T00:00:00", "2026-11-25T00:00:00.000", "2026-11-25"} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "yesterday", "25/11/2026", "2026-11-25 00:00"} {
		if _, err := ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q) accepted", s)
		}
	}
}

func TestCeilMilli(t *testing.T) {
	base := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	if got := ceilMilli(base); got != base.UnixMilli() {
		t.Errorf("whole millisecond moved: %d", got-base.UnixMilli())
	}
	if got := ceilMilli(base.Add(time.Microsecond)); got != base.UnixMilli()+1 {
		t.Errorf("a fraction did not round up: %d", got-base.UnixMilli())
	}
}
