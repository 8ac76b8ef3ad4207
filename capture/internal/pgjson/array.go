package pgjson

import (
	"bytes"
	"errors"
	"fmt"
)

// AppendArray appends the JSON array for a PostgreSQL array literal such as
// {1,2,NULL}, {"a b",c} or {{1,2},{3,4}}; each element is converted as elem.
// Explicit bounds ("[0:1]={1,2}") are dropped: JSON arrays start at 0.
func AppendArray(dst []byte, elem Kind, text []byte) ([]byte, error) {
	if len(text) > 0 && text[0] == '[' {
		eq := bytes.IndexByte(text, '=')
		if eq < 0 {
			return dst, fmt.Errorf("encoding array %q: bounds without '='", text)
		}
		text = text[eq+1:]
	}
	p := arrayParser{src: text, elem: elem}
	out, err := p.appendArray(dst)
	if err != nil {
		return dst, fmt.Errorf("encoding array: %w", err)
	}
	if p.pos != len(p.src) {
		return dst, fmt.Errorf("encoding array: trailing data at byte %d", p.pos)
	}
	return out, nil
}

type arrayParser struct {
	src     []byte
	pos     int
	elem    Kind
	scratch []byte
}

func (p *arrayParser) appendArray(dst []byte) ([]byte, error) {
	if p.pos >= len(p.src) || p.src[p.pos] != '{' {
		return dst, fmt.Errorf("expected '{' at byte %d", p.pos)
	}
	p.pos++
	dst = append(dst, '[')
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return append(dst, ']'), nil
	}
	for {
		var err error
		if dst, err = p.appendElement(dst); err != nil {
			return dst, err
		}
		if p.pos >= len(p.src) {
			return dst, errors.New("unterminated array")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
			dst = append(dst, ',')
		case '}':
			p.pos++
			return append(dst, ']'), nil
		default:
			return dst, fmt.Errorf("unexpected %q at byte %d", p.src[p.pos], p.pos)
		}
	}
}

func (p *arrayParser) appendElement(dst []byte) ([]byte, error) {
	if p.pos >= len(p.src) {
		return dst, errors.New("unterminated array")
	}
	switch p.src[p.pos] {
	case '{':
		return p.appendArray(dst)
	case '"':
		v, err := p.quoted()
		if err != nil {
			return dst, err
		}
		return AppendValue(dst, p.elem, String, v)
	}
	start := p.pos
	for p.pos < len(p.src) && p.src[p.pos] != ',' && p.src[p.pos] != '}' {
		p.pos++
	}
	v := bytes.TrimSpace(p.src[start:p.pos])
	if len(v) == 4 && bytes.EqualFold(v, []byte("NULL")) {
		return append(dst, "null"...), nil
	}
	return AppendValue(dst, p.elem, String, v)
}

// quoted reads a double-quoted element, undoing backslash escapes.
func (p *arrayParser) quoted() ([]byte, error) {
	p.pos++ // opening quote
	p.scratch = p.scratch[:0]
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case '\\':
			if p.pos+1 >= len(p.src) {
				return nil, errors.New("dangling backslash")
			}
			p.scratch = append(p.scratch, p.src[p.pos+1])
			p.pos += 2
		case '"':
			p.pos++
			return p.scratch, nil
		default:
			p.scratch = append(p.scratch, c)
			p.pos++
		}
	}
	return nil, errors.New("unterminated quoted element")
}
