package replay

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind is what a reset moves the offsets to.
type Kind int

// Reset kinds, as kafka-consumer-groups names them.
const (
	ToEarliest Kind = iota + 1 // --to-earliest: the log start
	ToLatest                   // --to-latest: the log end (skip everything)
	ToDatetime                 // --to-datetime: the first offset at or after Time
	ToOffset                   // --to-offset: Offset
	ShiftBy                    // --shift-by: the current offset plus Offset (negative: back)
)

// Target is a reset's destination.
type Target struct {
	Kind   Kind
	Time   time.Time // ToDatetime
	Offset int64     // ToOffset, ShiftBy
}

// String is the target as the flag that asks for it.
func (t Target) String() string {
	switch t.Kind {
	case ToEarliest:
		return "--to-earliest"
	case ToLatest:
		return "--to-latest"
	case ToDatetime:
		return "--to-datetime " + t.Time.UTC().Format(time.RFC3339Nano)
	case ToOffset:
		return fmt.Sprintf("--to-offset %d", t.Offset)
	case ShiftBy:
		return fmt.Sprintf("--shift-by %d", t.Offset)
	}
	return "no target"
}

// timeLayouts are the forms --to-datetime and --from-datetime accept: RFC
// 3339, and kafka-consumer-groups' zone-less form, read as UTC.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"}

// ParseTime reads an operator's date-time.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not a date-time: want RFC 3339, e.g. 2026-11-25T00:00:00Z")
}

// partitionState is what the broker says of one partition.
type partitionState struct {
	Start, End int64 // log start and end offsets
	Committed  int64 // the group's committed offset, -1 for none
	AtTime     int64 // for ToDatetime: the first offset at or after the time (End when none)
}

// PartitionPlan is one row of a reset: where the group is, where it goes.
type PartitionPlan struct {
	Partition int32 `json:"partition"`
	// Current is the committed offset, -1 when the group has none (the sink
	// then starts at the log start).
	Current int64 `json:"current"`
	New     int64 `json:"new"`
	Start   int64 `json:"logStart"`
	End     int64 `json:"logEnd"`
	// Redeliver counts messages already consumed that will be consumed
	// again; Skip counts messages that will never be.
	Redeliver int64 `json:"redeliver"`
	Skip      int64 `json:"skip"`
	Clamped   bool  `json:"clamped"` // the target was outside [Start, End]
}

// plan computes one partition's new offset, clamped to what the topic
// holds.
func plan(p int32, t Target, s partitionState) PartitionPlan {
	effective := s.Committed
	if effective < 0 {
		effective = s.Start
	}
	var want int64
	switch t.Kind {
	case ToEarliest:
		want = s.Start
	case ToLatest:
		want = s.End
	case ToDatetime:
		want = s.AtTime
		if want < 0 {
			want = s.End
		}
	case ToOffset:
		want = t.Offset
	case ShiftBy:
		want = effective + t.Offset
	}
	pp := PartitionPlan{Partition: p, Current: s.Committed, Start: s.Start, End: s.End, New: min(max(want, s.Start), s.End)}
	pp.Clamped = pp.New != want
	from := min(max(effective, s.Start), s.End)
	if pp.New < from {
		pp.Redeliver = from - pp.New
	} else {
		pp.Skip = pp.New - from
	}
	return pp
}
