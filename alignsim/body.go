package alignsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// fields reads a JSON object body one field at a time, so that every problem
// is reported as 400 validation_error naming the field it is about. The first
// problem wins: later accessors keep returning zero values and the handler
// checks done() once it has read everything. Unknown fields are ignored, as
// the contract requires.
type fields struct {
	prefix string // "externalRef." inside a nested object
	m      map[string]json.RawMessage
	first  *firstError // shared with nested objects
}

type firstError struct{ err *apiError }

// parseFields treats an empty body as {}, so that a missing body reports the
// first required field rather than a generic complaint.
func parseFields(raw []byte) (*fields, error) {
	f := &fields{m: map[string]json.RawMessage{}, first: &firstError{}}
	if len(bytes.TrimSpace(raw)) == 0 {
		return f, nil
	}
	if err := json.Unmarshal(raw, &f.m); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, errValidation("body: malformed JSON at offset %d: %v", syn.Offset, err)
		}
		return nil, errValidation("body: must be a JSON object")
	}
	if f.m == nil { // the body was null
		return nil, errValidation("body: must be a JSON object")
	}
	return f, nil
}

func (f *fields) done() error {
	if f.first.err != nil {
		return f.first.err
	}
	return nil
}

func (f *fields) failed() bool { return f.first.err != nil }

func (f *fields) fail(name, format string, args ...any) {
	if f.first.err == nil {
		f.first.err = errValidation(f.prefix+name+": "+format, args...)
	}
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func (f *fields) present(name string) bool {
	_, ok := f.m[name]
	return ok
}

// lookup returns the raw value of name, or nil when it is absent or null.
func (f *fields) lookup(name string) json.RawMessage {
	raw, ok := f.m[name]
	if !ok || isNull(raw) {
		return nil
	}
	return bytes.TrimSpace(raw)
}

func (f *fields) optString(name string) (string, bool) {
	raw := f.lookup(name)
	if raw == nil {
		return "", false
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		f.fail(name, "must be a string")
		return "", false
	}
	return s, true
}

func (f *fields) reqString(name string) string {
	s, ok := f.optString(name)
	switch {
	case !ok:
		f.fail(name, "is required")
	case strings.TrimSpace(s) == "":
		f.fail(name, "must not be empty")
	}
	return s
}

// nullableString distinguishes absent (set=false) from null (nil, true).
func (f *fields) nullableString(name string) (val *string, set bool) {
	if !f.present(name) {
		return nil, false
	}
	s, ok := f.optString(name)
	if !ok {
		return nil, true
	}
	return &s, true
}

func isNumberToken(raw json.RawMessage) bool {
	return raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')
}

func (f *fields) optInt(name string) (int, bool) {
	raw := f.lookup(name)
	if raw == nil {
		return 0, false
	}
	if isNumberToken(raw) {
		if n, err := strconv.Atoi(string(raw)); err == nil {
			return n, true
		}
		if v, err := strconv.ParseFloat(string(raw), 64); err == nil && v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int(v), true
		}
	}
	f.fail(name, "must be an integer")
	return 0, false
}

func (f *fields) optFloat(name string) (float64, bool) {
	raw := f.lookup(name)
	if raw == nil {
		return 0, false
	}
	if isNumberToken(raw) {
		if v, err := strconv.ParseFloat(string(raw), 64); err == nil {
			return v, true
		}
	}
	f.fail(name, "must be a number")
	return 0, false
}

func (f *fields) optBool(name string) (bool, bool) {
	switch string(f.lookup(name)) {
	case "":
		return false, false
	case "true":
		return true, true
	case "false":
		return false, true
	}
	f.fail(name, "must be a boolean")
	return false, false
}

func (f *fields) boolOr(name string, def bool) bool {
	if v, ok := f.optBool(name); ok {
		return v
	}
	return def
}

// optUUID returns the UUID in canonical lower-case form.
func (f *fields) optUUID(name string) (string, bool) {
	s, ok := f.optString(name)
	if !ok {
		return "", false
	}
	id, valid := canonicalUUID(s)
	if !valid {
		f.fail(name, "must be a UUID")
		return "", false
	}
	return id, true
}

func (f *fields) reqUUID(name string) string {
	if !f.present(name) || f.lookup(name) == nil {
		f.fail(name, "is required")
		return ""
	}
	id, _ := f.optUUID(name)
	return id
}

// canonicalUUID accepts only the 8-4-4-4-12 form (any case) and returns it in
// lower case; uuid.Parse alone would also accept braces, urn: and no hyphens.
func canonicalUUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return id.String(), true
}

const dateLayout = "2006-01-02"

func validDate(s string) bool {
	_, err := time.Parse(dateLayout, s)
	return err == nil
}

func (f *fields) optDate(name string) (string, bool) {
	s, ok := f.optString(name)
	if !ok {
		return "", false
	}
	if !validDate(s) {
		f.fail(name, "must be a date YYYY-MM-DD")
		return "", false
	}
	return s, true
}

func (f *fields) reqDate(name string) string {
	if f.lookup(name) == nil {
		f.fail(name, "is required")
		return ""
	}
	s, _ := f.optDate(name)
	return s
}

func (f *fields) optEnum(name string, allowed []string) (string, bool) {
	s, ok := f.optString(name)
	if ok && !slices.Contains(allowed, s) {
		f.fail(name, "must be one of %s", strings.Join(allowed, ", "))
		return "", false
	}
	return s, ok
}

func (f *fields) optStringList(name string) ([]string, bool) {
	raw := f.lookup(name)
	if raw == nil {
		return nil, false
	}
	var list []string
	if raw[0] != '[' || json.Unmarshal(raw, &list) != nil {
		f.fail(name, "must be an array of strings")
		return nil, false
	}
	return list, true
}

func (f *fields) optIntList(name string) ([]int, bool) {
	raw := f.lookup(name)
	if raw == nil {
		return nil, false
	}
	var list []int
	if raw[0] != '[' || json.Unmarshal(raw, &list) != nil {
		f.fail(name, "must be an array of integers")
		return nil, false
	}
	return list, true
}

// optObject returns a nested reader whose errors name "name.field".
func (f *fields) optObject(name string) (*fields, bool) {
	raw := f.lookup(name)
	if raw == nil {
		return nil, false
	}
	sub := &fields{prefix: f.prefix + name + ".", first: f.first}
	if raw[0] != '{' || json.Unmarshal(raw, &sub.m) != nil {
		f.fail(name, "must be an object")
		return nil, false
	}
	return sub, true
}

// raw returns a present, non-null value as sent, for fields stored as is.
func (f *fields) raw(name string) json.RawMessage {
	raw := f.lookup(name)
	if raw == nil {
		return nil
	}
	return slices.Clone(raw)
}
