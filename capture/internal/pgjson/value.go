package pgjson

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// AppendValue appends the JSON form of text, the text-format value of a
// column of the given kind (elem is the element kind of arrays).
func AppendValue(dst []byte, kind, elem Kind, text []byte) ([]byte, error) {
	switch kind {
	case Int:
		return appendInt(dst, text)
	case Float:
		return appendFloat(dst, text)
	case Bool:
		return appendBool(dst, text)
	case JSON:
		return appendJSON(dst, text)
	case TimestampTZ:
		return appendTimestampTZ(dst, text)
	case Timestamp:
		return appendTimestamp(dst, text)
	case Array:
		return AppendArray(dst, elem, text)
	default: // String, Numeric, Date: already in their final text form
		return AppendString(dst, text)
	}
}

func appendInt(dst, text []byte) ([]byte, error) {
	if !isInteger(text) {
		return dst, fmt.Errorf("encoding integer %q: not an integer", text)
	}
	return append(dst, text...), nil
}

func isInteger(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// appendFloat keeps finite values as numbers; NaN and ±Infinity have no JSON
// number form and become strings.
func appendFloat(dst, text []byte) ([]byte, error) {
	if len(text) == 0 {
		return dst, errors.New("encoding float: empty value")
	}
	c := text[len(text)-1]
	if c == 'N' || c == 'y' { // NaN, Infinity, -Infinity
		return AppendString(dst, text)
	}
	for _, c := range text {
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			return dst, fmt.Errorf("encoding float %q: not a number", text)
		}
	}
	return append(dst, text...), nil
}

func appendBool(dst, text []byte) ([]byte, error) {
	switch string(text) {
	case "t":
		return append(dst, "true"...), nil
	case "f":
		return append(dst, "false"...), nil
	}
	return dst, fmt.Errorf("encoding bool %q: neither t nor f", text)
}

// appendJSON embeds json and jsonb values, which PostgreSQL validated on
// input. A value that does not start like JSON is refused rather than
// producing an envelope nobody can parse.
func appendJSON(dst, text []byte) ([]byte, error) {
	t := bytes.TrimSpace(text)
	if len(t) == 0 {
		return dst, errors.New("encoding json: empty value")
	}
	switch t[0] {
	case '{', '[', '"', 't', 'f', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return append(dst, t...), nil
	}
	return dst, fmt.Errorf("encoding json: value starts with %q", t[0])
}

// appendTimestampTZ turns "2024-01-31 12:34:56.5+00" (ISO DateStyle) into
// "2024-01-31T12:34:56.5Z". Other offsets are converted to UTC; infinity and
// BC values keep their PostgreSQL text.
func appendTimestampTZ(dst, text []byte) ([]byte, error) {
	n := len(text)
	if n >= 22 && text[10] == ' ' && text[n-3] == '+' && text[n-2] == '0' && text[n-1] == '0' {
		dst = append(dst, '"')
		dst = append(dst, text[:10]...)
		dst = append(dst, 'T')
		dst = append(dst, text[11:n-3]...)
		return append(dst, 'Z', '"'), nil
	}
	t, err := time.Parse("2006-01-02 15:04:05.999999999-07:00", expandOffset(text))
	if err != nil {
		return AppendString(dst, text)
	}
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"'), nil
}

// expandOffset turns PostgreSQL's short offsets ("+05", "+05:30") into the
// "+05:00" form time.Parse expects.
func expandOffset(text []byte) string {
	s := string(text)
	n := len(s)
	if n > 3 && (s[n-3] == '+' || s[n-3] == '-') {
		return s + ":00"
	}
	return s
}

// appendTimestamp turns "2024-01-31 12:34:56" into "2024-01-31T12:34:56".
func appendTimestamp(dst, text []byte) ([]byte, error) {
	if len(text) >= 19 && text[10] == ' ' && text[4] == '-' {
		dst = append(dst, '"')
		dst = append(dst, text[:10]...)
		dst = append(dst, 'T')
		dst = append(dst, text[11:]...)
		return append(dst, '"'), nil
	}
	return AppendString(dst, text)
}
