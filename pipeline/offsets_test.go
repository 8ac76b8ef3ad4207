package pipeline

import (
	"reflect"
	"testing"
)

func TestOffsetTrackerCommitsBelowLowestUnfinished(t *testing.T) {
	tr := newOffsetTracker()
	for _, o := range []int64{10, 11, 12, 13} {
		tr.Start(0, o)
	}
	tr.Start(1, 5)

	tr.Finish(0, 11) // 10 still unfinished: nothing to commit
	tr.Finish(0, 13)
	if got := tr.Committable(); len(got) != 0 {
		t.Fatalf("committable with offset 10 unfinished: %v", got)
	}
	tr.Finish(0, 10) // 10 and 11 finished, 12 not
	if got := tr.Committable(); !reflect.DeepEqual(got, map[int]int64{0: 11}) {
		t.Fatalf("committable = %v, want partition 0 at 11", got)
	}
	if got := tr.Committable(); len(got) != 0 {
		t.Fatalf("second call repeats %v", got)
	}
	tr.Finish(1, 5)
	tr.Finish(0, 12)
	if got := tr.Committable(); !reflect.DeepEqual(got, map[int]int64{0: 13, 1: 5}) {
		t.Fatalf("committable = %v, want partition 0 at 13 and 1 at 5", got)
	}
}
