package pgjson

import (
	"encoding/json"
	"testing"
)

func TestAppendValue(t *testing.T) {
	tests := []struct {
		name string
		oid  uint32
		in   string
		want string
	}{
		{"int4", 23, "-42", `-42`},
		{"int8 beyond float precision", 20, "9223372036854775807", `9223372036854775807`},
		{"numeric keeps precision as string", 1700, "12345678901234567890.000001", `"12345678901234567890.000001"`},
		{"numeric NaN", 1700, "NaN", `"NaN"`},
		{"float8", 701, "1.5e-07", `1.5e-07`},
		{"float8 infinity", 701, "-Infinity", `"-Infinity"`},
		{"float4 NaN", 700, "NaN", `"NaN"`},
		{"bool true", 16, "t", `true`},
		{"bool false", 16, "f", `false`},
		{"text with escapes", 25, "a\"b\\c\n\t\x01é", `"a\"b\\c\n\t\u0001é"`},
		{"uuid", 2950, "6f1c1f3e-0000-4000-8000-000000000001", `"6f1c1f3e-0000-4000-8000-000000000001"`},
		{"date", 1082, "2024-02-29", `"2024-02-29"`},
		{"timestamptz utc", 1184, "2024-01-31 12:34:56.123456+00", `"2024-01-31T12:34:56.123456Z"`},
		{"timestamptz whole second", 1184, "2024-01-31 12:34:56+00", `"2024-01-31T12:34:56Z"`},
		{"timestamptz other offset", 1184, "2024-01-31 12:34:56+05:30", `"2024-01-31T07:04:56Z"`},
		{"timestamptz short offset", 1184, "2024-01-31 12:34:56-07", `"2024-01-31T19:34:56Z"`},
		{"timestamptz infinity", 1184, "infinity", `"infinity"`},
		{"timestamp", 1114, "2024-01-31 12:34:56.5", `"2024-01-31T12:34:56.5"`},
		{"jsonb object", 3802, `{"a": [1, 2], "b": null}`, `{"a": [1, 2], "b": null}`},
		{"jsonb scalar", 3802, `"x"`, `"x"`},
		{"int array with null", 1007, "{1,NULL,3}", `[1,null,3]`},
		{"empty array", 1007, "{}", `[]`},
		{"nested array", 1007, "{{1,2},{3,4}}", `[[1,2],[3,4]]`},
		{"array with bounds", 1007, "[0:1]={5,6}", `[5,6]`},
		{"text array with quotes", 1009, `{"a b","c\"d",e,"NULL",NULL}`, `["a b","c\"d","e","NULL",null]`},
		{"numeric array", 1231, "{1.50,2}", `["1.50","2"]`},
		{"jsonb array", 3807, `{"{\"a\": 1}","[2]"}`, `[{"a": 1},[2]]`},
		{"timestamptz array", 1185, `{"2024-01-01 00:00:00+00"}`, `["2024-01-01T00:00:00Z"]`},
		{"bool array", 1000, "{t,f}", `[true,false]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, elem := KindOf(tt.oid, "")
			got, err := AppendValue(nil, kind, elem, []byte(tt.in))
			if err != nil {
				t.Fatalf("AppendValue(%q): %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Fatalf("AppendValue(%q) = %s, want %s", tt.in, got, tt.want)
			}
			if !json.Valid(got) {
				t.Fatalf("AppendValue(%q) = %s is not valid JSON", tt.in, got)
			}
		})
	}
}

func TestAppendValueErrors(t *testing.T) {
	tests := []struct {
		name string
		oid  uint32
		in   string
	}{
		{"invalid utf8", 25, "a\xffb"},
		{"not an int", 23, "12a"},
		{"not a bool", 16, "yes"},
		{"unterminated array", 1007, "{1,2"},
		{"trailing array data", 1007, "{1}x"},
		{"bad array element", 1007, "{1,x}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, elem := KindOf(tt.oid, "")
			if got, err := AppendValue(nil, kind, elem, []byte(tt.in)); err == nil {
				t.Fatalf("AppendValue(%q) = %s, want an error", tt.in, got)
			}
		})
	}
}

func TestKindOfUserArray(t *testing.T) {
	kind, elem := KindOf(99999, "_mood")
	if kind != Array || elem != String {
		t.Fatalf("KindOf(_mood) = %v, %v; want Array of String", kind, elem)
	}
	got, err := AppendValue(nil, kind, elem, []byte("{happy,sad}"))
	if err != nil || string(got) != `["happy","sad"]` {
		t.Fatalf("enum array = %s, %v", got, err)
	}
}
