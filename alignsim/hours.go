package alignsim

import (
	"encoding/json"
	"math"
	"math/big"
	"regexp"
	"strconv"
)

// Limits of a time entry's duration (align-contract.md §5).
const (
	minMinutes = 1
	maxMinutes = 24 * 60
)

// quartersFromMinutes rounds to the nearest quarter hour, never below one
// quarter. minutes/15 is never exactly halfway for whole minutes, so there
// is no tie to break.
func quartersFromMinutes(minutes int) int { return max((minutes+7)/15, 1) }

// hoursFromMinutes is the canonical hours string: the shortest decimal,
// with a fraction only when needed ("2", "2.5", "0.25").
func hoursFromMinutes(minutes int) string {
	q := quartersFromMinutes(minutes)
	return strconv.Itoa(q/4) + [...]string{"", ".25", ".5", ".75"}[q%4]
}

var hoursText = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// minutesFromHours accepts a multiple of 0.25 between 0.25 and 24.
func minutesFromHours(text string) (int, bool) {
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return 0, false
	}
	q := v * 4 // exact: every multiple of 0.25 up to 24 is a binary fraction
	if q != math.Trunc(q) || q < 1 || q > 96 {
		return 0, false
	}
	return int(q) * 15, true
}

// hoursAsMinutes reads "hours" as a decimal string, or a number, which the
// contract also accepts.
func (f *fields) hoursAsMinutes(name string) (int, bool) {
	raw := f.lookup(name)
	if raw == nil {
		return 0, false
	}
	text := string(raw)
	if raw[0] == '"' {
		if json.Unmarshal(raw, &text) != nil || !hoursText.MatchString(text) {
			text = ""
		}
	} else if !isNumberToken(raw) {
		text = ""
	}
	minutes, ok := minutesFromHours(text)
	if !ok {
		f.fail(name, "must be a multiple of 0.25 between 0.25 and 24, such as \"1.75\"")
	}
	return minutes, ok
}

// minutes reads a duration in minutes, 1 to 1440.
func (f *fields) minutes(name string) (int, bool) {
	m, ok := f.optInt(name)
	if ok && (m < minMinutes || m > maxMinutes) {
		f.fail(name, "must be between %d and %d", minMinutes, maxMinutes)
		return 0, false
	}
	return m, ok
}

// maxRateCents keeps arbitrary-precision arithmetic on sane numbers.
const maxRateCents = 1e12

// costCents is minutes × externalMetadata.rateCents / 60, rounded half up
// to a whole cent, or nil without a rate (align-contract.md §5).
func costCents(meta json.RawMessage, minutes int) (*int64, error) {
	var m map[string]json.RawMessage
	if len(meta) == 0 || meta[0] != '{' || json.Unmarshal(meta, &m) != nil {
		return nil, nil
	}
	raw := m["rateCents"]
	if raw == nil || isNull(raw) {
		return nil, nil
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	rate, ok := new(big.Rat).SetString(string(raw))
	if !isNumberToken(raw) || err != nil || !ok || v < 0 || v > maxRateCents {
		return nil, errValidation("externalMetadata.rateCents: must be a number between 0 and %g", maxRateCents)
	}
	cost := rate.Mul(rate, big.NewRat(int64(minutes), 60))
	cost.Add(cost, big.NewRat(1, 2))
	cents := new(big.Int).Quo(cost.Num(), cost.Denom()).Int64() // non-negative, so Quo is floor
	return &cents, nil
}
