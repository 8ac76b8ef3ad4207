// Package pgjson turns PostgreSQL text-format column values, as pgoutput
// sends them, into JSON: integers and floats as numbers, numeric as a string,
// bool, text and uuid as strings, date as "YYYY-MM-DD", timestamptz as RFC 3339
// UTC, json and jsonb embedded, arrays as JSON arrays, NULL as null.
//
// Invariant: every function appends valid JSON or returns an error and leaves
// the decision (dead-letter the change) to the caller; nothing is guessed,
// and invalid UTF-8 is an error, never silently replaced.
//
// The text formats assume the session settings capture opens its replication
// connection with: DateStyle=ISO, TimeZone=UTC, IntervalStyle=iso_8601.
package pgjson
