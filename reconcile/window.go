package reconcile

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

const dateLayout = "2006-01-02"

// Window is the range of work dates a run compares: the last Days days, a
// fixed range, or everything.
type Window struct {
	Days       int    // N: work dates from N days before today (UTC) through today
	Start, End string // a fixed inclusive range, YYYY-MM-DD
	All        bool
}

// ParseWindow reads "7d", "all" or "2026-11-01..2026-11-30".
func ParseWindow(s string) (Window, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "all":
		return Window{All: true}, nil
	case strings.HasSuffix(s, "d"):
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n < 1 {
			return Window{}, fmt.Errorf("%q: want Nd with N >= 1 (e.g. 7d), all, or FROM..TO dates", s)
		}
		return Window{Days: n}, nil
	case strings.Contains(s, ".."):
		from, to, _ := strings.Cut(s, "..")
		a, errA := time.Parse(dateLayout, from)
		b, errB := time.Parse(dateLayout, to)
		if errA != nil || errB != nil || b.Before(a) {
			return Window{}, fmt.Errorf("%q: want FROM..TO as YYYY-MM-DD..YYYY-MM-DD with FROM <= TO", s)
		}
		return Window{Start: from, End: to}, nil
	}
	return Window{}, fmt.Errorf("%q: want Nd (e.g. 7d), all, or YYYY-MM-DD..YYYY-MM-DD", s)
}

// String is the window as ParseWindow reads it.
func (w Window) String() string {
	switch {
	case w.All:
		return "all"
	case w.Days > 0:
		return strconv.Itoa(w.Days) + "d"
	}
	return w.Start + ".." + w.End
}

// Dates resolves the window at now into inclusive work dates; both are empty
// for all.
func (w Window) Dates(now time.Time) (start, end string) {
	switch {
	case w.All:
		return "", ""
	case w.Days > 0:
		today := now.UTC()
		return today.AddDate(0, 0, -w.Days).Format(dateLayout), today.Format(dateLayout)
	}
	return w.Start, w.End
}

// Schedule is a daily time of day in UTC.
type Schedule struct{ hour, minute int }

// ParseSchedule reads "HH:MM" (UTC, 24-hour clock).
func ParseSchedule(at string) (Schedule, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(at))
	if err != nil {
		return Schedule{}, fmt.Errorf("schedule %q: want HH:MM in UTC, e.g. 02:00", at)
	}
	return Schedule{hour: t.Hour(), minute: t.Minute()}, nil
}

// Next is the first slot strictly after after.
func (s Schedule) Next(after time.Time) time.Time {
	after = after.UTC()
	slot := time.Date(after.Year(), after.Month(), after.Day(), s.hour, s.minute, 0, 0, time.UTC)
	if !slot.After(after) {
		slot = slot.AddDate(0, 0, 1)
	}
	return slot
}

// String is the schedule as ParseSchedule reads it.
func (s Schedule) String() string { return fmt.Sprintf("%02d:%02d", s.hour, s.minute) }
