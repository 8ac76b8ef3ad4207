// Package dashboards builds alignsync's Grafana dashboard, alignsync.json, from
// Go with the Grafana Foundation SDK: `go run ./dashboards/gen >
// dashboards/alignsync.json` regenerates it.
//
// Invariant: the committed alignsync.json is exactly Build's output; every
// panel expression parses as PromQL and names only metrics that alignsync's
// components register; the lag and failure panels sit on the first screen.
package dashboards
