package demo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/illumera/alignsync/connect/credentials"
)

// minIncidentDuration is the shortest workload that gets an incident: half of
// it must leave time for the key's refusal to show and for the reconnect.
const minIncidentDuration = 20 * time.Second

// incident is the failure the demo shows midway. The simulator revokes one
// company's Align key; the sink meets the refusal, the connection turns
// Error and the company's operations park while its workload goes on. Then
// an admin reconnects with a fresh key and clicks Retry Failed, through the
// admin API as the pages do, and the convergence report says whether the
// company caught up.
type incident struct {
	w  *world
	d  *driver
	c  company
	at time.Duration // after the workload's start

	started                             bool
	revokedAt, erroredAt, reconnectedAt time.Duration
	lastError                           string
	parked                              int
	newLast4                            string
	reset                               int64 // operations Retry Failed put back to pending, over every click
	clicks                              int
	problems                            []string // where the story did not go as told
}

func newIncident(w *world, d *driver, c company, duration time.Duration) *incident {
	at := duration / 2
	if duration == 0 {
		at = 30 * time.Second
	}
	return &incident{w: w, d: d, c: c, at: at}
}

// run waits until the incident is due and plays it. Once the key is revoked
// the story runs to its end on its own deadline, even when the workload
// stops meanwhile (Ctrl-C included): the report needs the company
// reconnected.
func (in *incident) run(workload context.Context) {
	due := time.NewTimer(time.Until(in.d.start.Add(in.at)))
	defer due.Stop()
	select {
	case <-workload.Done():
		return
	case <-due.C:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	in.started = true
	if err := in.w.align.Control.RevokeKey(ctx, in.c.Key.APIKeyID); err != nil {
		in.problem("revoking the key in the simulator: %v", err)
		return
	}
	in.revokedAt = in.d.since()
	in.say("the simulator revoked %s's Align key (…%s)", in.c.Name, last4(in.c.Key.Key))
	in.waitForError(ctx)
	// Long enough to see the Error on the admin pages.
	hold := time.NewTimer(5 * time.Second)
	defer hold.Stop()
	select {
	case <-ctx.Done():
	case <-hold.C:
	}
	if in.reconnect(ctx) {
		in.retryFailed(ctx)
	}
}

// waitForError waits until the connection shows Error and operations are
// parked, as an admin would see on the pages.
func (in *incident) waitForError(ctx context.Context) {
	deadline := time.Now().Add(time.Minute)
	for {
		var conn connectionView
		err := in.w.adminAPI(ctx, http.MethodGet, in.c.ID, "/connection", nil, &conn)
		parked, perr := in.failedOperations(ctx)
		if err == nil && perr == nil && conn.Status == credentials.StatusError && parked > 0 {
			in.erroredAt, in.parked = in.d.since(), parked
			if conn.LastError != nil {
				in.lastError = *conn.LastError
			}
			in.say("%s: connection status Error (%q), %d %s parked", in.c.Name, in.lastError, parked, plural(parked, "operation", "operations"))
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			in.problem("the connection did not show Error with parked operations within a minute (status %q, %d failed, %v %v)",
				conn.Status, parked, err, perr)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// reconnect connects the company again with a fresh key of its organization.
func (in *incident) reconnect(ctx context.Context) bool {
	key, err := in.w.mintKey(ctx, in.c)
	if err != nil {
		in.problem("%v", err)
		return false
	}
	if err := in.w.putConnection(ctx, in.c.ID, key.Key); err != nil {
		in.problem("reconnecting: %v", err)
		return false
	}
	var conn connectionView
	if err := in.w.adminAPI(ctx, http.MethodGet, in.c.ID, "/connection", nil, &conn); err != nil || conn.Status != credentials.StatusConnected {
		in.problem("after reconnecting the connection shows %q (%v), want connected", conn.Status, err)
		return false
	}
	in.reconnectedAt, in.newLast4 = in.d.since(), conn.KeyLast4
	in.say("reconnected %s with a fresh key (…%s): status Connected", in.c.Name, conn.KeyLast4)
	return true
}

// retryFailed clicks Retry Failed until every operation of the company
// recorded before the click is done, three clicks at most. A sink may still
// hold the connection's Error for up to a second after the reconnect and
// park again what the first click reset; an admin would click once more,
// and so does the demo.
func (in *incident) retryFailed(ctx context.Context) {
	pause := time.NewTimer(2 * time.Second)
	defer pause.Stop()
	select {
	case <-ctx.Done():
		return
	case <-pause.C:
	}
	for in.clicks < 3 {
		var last int64
		if err := in.w.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM align_sync.outbox WHERE company_id = $1`,
			in.c.ID).Scan(&last); err != nil {
			in.problem("reading the company's operations: %v", err)
			return
		}
		var res struct {
			Reset int64 `json:"reset"`
		}
		if err := in.w.adminAPI(ctx, http.MethodPost, in.c.ID, "/sync/retry-failed", nil, &res); err != nil {
			in.problem("Retry Failed: %v", err)
			return
		}
		in.clicks++
		in.reset += res.Reset
		in.say("Retry Failed reset %d %s of %s to pending", res.Reset, plural(int(res.Reset), "operation", "operations"), in.c.Name)
		if in.waitDone(ctx, last) {
			return
		}
	}
	in.problem("operations of %s were still failed after %d clicks of Retry Failed", in.c.Name, in.clicks)
}

// waitDone reports whether the company's operations up to id last are all
// done within 30 s; it gives up early when the only ones left are failed.
func (in *incident) waitDone(ctx context.Context, last int64) bool {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var failed, open int
		err := in.w.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'failed'),
			count(*) FILTER (WHERE status IN ('pending', 'processing'))
			FROM align_sync.outbox WHERE company_id = $1 AND id <= $2`, in.c.ID, last).Scan(&failed, &open)
		switch {
		case err == nil && failed == 0 && open == 0:
			return true
		case err == nil && open == 0:
			return false
		}
		time.Sleep(250 * time.Millisecond)
	}
	return false
}

func (in *incident) failedOperations(ctx context.Context) (int, error) {
	var n int
	err := in.w.pool.QueryRow(ctx, `SELECT count(*) FROM align_sync.outbox WHERE company_id = $1 AND status = 'failed'`,
		in.c.ID).Scan(&n)
	return n, err
}

func (in *incident) say(format string, args ...any) {
	fmt.Fprintf(in.w.opts.Out, "incident   t=%3ds  %s\n", int(in.d.since().Seconds()), fmt.Sprintf(format, args...))
}

func (in *incident) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	in.problems = append(in.problems, msg)
	in.say("PROBLEM: %s", msg)
}

// report tells what happened and whether the company converged afterwards;
// it returns false when the story did not go as told.
func (in *incident) report(ctx context.Context, out io.Writer, converged bool) bool {
	if !in.started {
		fmt.Fprintf(out, "Incident: none (the workload stopped before t=%ds, when %s's key was to be revoked)\n", int(in.at.Seconds()), in.c.Name)
		return true
	}
	fmt.Fprintf(out, "Incident: at t=%ds the simulator revoked %s's Align key (…%s).\n", int(in.revokedAt.Seconds()), in.c.Name, last4(in.c.Key.Key))
	if in.erroredAt > 0 {
		fmt.Fprintf(out, "  t=%3ds  the sink met the refusal: connection status Error (%q), %d %s parked\n",
			int(in.erroredAt.Seconds()), in.lastError, in.parked, plural(in.parked, "operation", "operations"))
	}
	if in.reconnectedAt > 0 {
		fmt.Fprintf(out, "  t=%3ds  reconnected with a fresh key (…%s); Retry Failed (%d %s) reset %d %s to pending\n",
			int(in.reconnectedAt.Seconds()), in.newLast4, in.clicks, plural(in.clicks, "click", "clicks"), in.reset,
			plural(int(in.reset), "operation", "operations"))
	}
	for _, p := range in.problems {
		fmt.Fprintf(out, "  PROBLEM: %s\n", p)
	}
	var conn connectionView
	err := in.w.adminAPI(ctx, http.MethodGet, in.c.ID, "/connection", nil, &conn)
	failed, ferr := in.failedOperations(ctx)
	if err != nil || ferr != nil {
		fmt.Fprintf(out, "  afterwards: the connection could not be read (%v %v)\n", err, ferr)
		return false
	}
	verdict := "Illumera and Align converged for " + in.c.Name
	if !converged {
		verdict = in.c.Name + " DIVERGED (see above)"
	}
	fmt.Fprintf(out, "  afterwards: connection %s, %d operations failed; %s\n", statusWord(conn.Status), failed, verdict)
	return len(in.problems) == 0 && conn.Status == credentials.StatusConnected && failed == 0 && converged
}

func last4(key string) string {
	if len(key) < 4 {
		return key
	}
	return key[len(key)-4:]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// statusWord is a connection status as the admin pages word it.
func statusWord(status string) string {
	switch status {
	case credentials.StatusConnected:
		return "Connected"
	case credentials.StatusError:
		return "Error"
	case credentials.StatusDisconnected:
		return "Disconnected"
	}
	return status
}
