// Package ingest receives Align's webhooks (POST /webhooks/align/{connectionID})
// and writes the statuses they carry back into Illumera's time_entries.
//
// Invariants: a delivery is answered 2xx only once it is durably recorded in
// align_sync.webhook_deliveries, exactly once per delivery id of its
// connection (another connection's deliveries may reuse the id); a delivery
// whose signature does not verify with its connection's secret is refused
// before anything is stored; a connection changes only its own company's
// rows; and a time entry's status only moves forward (AdvanceStatus). Ingest
// never calls Align (it imports neither the Align client nor the connect
// workflow: connections resolve through the credential store,
// connect/credentials), and its write-back changes only status,
// rejection_reason and updated_at of a time entry.
//
// The vocabularies of what ingest receives and writes are defined here: the
// webhook event names (events.go, what connect subscribes a connection to),
// the time entry statuses and their lifecycle (status.go) and the delivery
// statuses of align_sync.webhook_deliveries.
//
// A delivery is recorded as received, then applied and marked processed or
// failed; a crash in between leaves it received, for Align's next attempt of
// the same delivery id or Retry Failed. The statement that records it also
// re-checks that the connection is still live, which is what allows the
// receiver to cache resolved connections for a minute. ApplyRepair writes a
// status that no webhook brought (read from Align by the status sweep) the
// same way, recording it as a delivery marked repaired; the change's own
// webhook, arriving later, is then recorded as already applied instead of
// being applied again over what happened since (a resubmission).
package ingest
