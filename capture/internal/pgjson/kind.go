package pgjson

// Kind is how a column's text value becomes JSON.
type Kind uint8

const (
	// String is any type without a better mapping (text, varchar, uuid,
	// enums, interval, bytea in hex, ...): a JSON string of the text form.
	String Kind = iota
	Int
	Float
	Numeric
	Bool
	JSON
	Date
	TimestampTZ
	Timestamp
	Array
)

// Type OIDs from pg_type.h that get a mapping other than String.
var scalarKinds = map[uint32]Kind{
	16:   Bool,
	20:   Int, // int8
	21:   Int, // int2
	23:   Int, // int4
	26:   Int, // oid
	700:  Float,
	701:  Float,
	1700: Numeric,
	114:  JSON, // json
	3802: JSON, // jsonb
	1082: Date,
	1184: TimestampTZ,
	1114: Timestamp,
}

// Array type OIDs and the kind of their elements.
var arrayKinds = map[uint32]Kind{
	1000: Bool,
	1005: Int, 1007: Int, 1016: Int, 1028: Int,
	1021: Float, 1022: Float,
	1231: Numeric,
	199:  JSON, 3807: JSON,
	1182: Date,
	1185: TimestampTZ,
	1115: Timestamp,
	1009: String, 1015: String, 1014: String, 2951: String, 1002: String, 1003: String,
}

// KindOf maps a column type OID to its kind and, for arrays, the kind of the
// elements. typeName is the name from a pgoutput Type message for types that
// are not built in ("" when unknown): a leading underscore is PostgreSQL's
// naming of array types, whose elements are then treated as strings.
func KindOf(oid uint32, typeName string) (kind, elem Kind) {
	if k, ok := scalarKinds[oid]; ok {
		return k, String
	}
	if e, ok := arrayKinds[oid]; ok {
		return Array, e
	}
	if len(typeName) > 1 && typeName[0] == '_' {
		return Array, String
	}
	return String, String
}
