package demo

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/illumera/alignsync/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var (
	progressLine = regexp.MustCompile(`^t=\s*\d+s  changes\s+(\d+)  captured\s+(\d+)  ops done\s+(\d+) `)
	parkedLine   = regexp.MustCompile(`connection status Error \("Align API key validation failed: 401[^"]*"\), (\d+) operations? parked`)
)

// TestDemoTellsTheWholeStory runs the demo as `make demo` does, shorter: the
// workload, a revoked key midway (status Error, operations parked), the
// reconnect with a fresh key and Retry Failed, and a convergence report that
// says so; the last progress line counts what really happened.
func TestDemoTellsTheWholeStory(t *testing.T) {
	pg, err := testenv.SharedPostgres()
	if err != nil {
		t.Fatalf("PostgreSQL is required and could not start: %v", err)
	}
	url, err := pg.NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := &testenv.LogBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	runErr := Run(ctx, Options{Duration: 24 * time.Second, DatabaseURL: url, OpsAddr: "127.0.0.1:0", Companies: 2,
		Seed: 7, Out: out})
	text := out.String()
	t.Logf("demo output:\n%s", text)
	if runErr != nil {
		t.Fatalf("the demo did not converge: %v", runErr)
	}

	lines := strings.Split(text, "\n")
	story := []string{
		"incident   t=", "the simulator revoked Northwind Defense's Align key",
		"Northwind Defense: connection status Error (",
		"reconnected Northwind Defense with a fresh key", "status Connected",
		"Retry Failed reset",
		"workload stopped",
		"Incident: at t=", "the sink met the refusal: connection status Error",
		"afterwards: connection Connected, 0 operations failed; Illumera and Align converged for Northwind Defense",
		"Illumera and Align agree entity by entity",
	}
	at := 0
	for _, want := range story {
		i := strings.Index(text[at:], want)
		if i < 0 {
			t.Fatalf("the output lacks %q after byte %d (the story in order: %q)", want, at, story)
		}
		at += i
	}
	m := parkedLine.FindStringSubmatch(text)
	if m == nil || m[1] == "0" {
		t.Fatalf("no operations parked while the key was revoked (%v)", m)
	}

	// The last progress line, printed after the workload stopped, counts the
	// changes and operations of the whole run, never zeros.
	var last []string
	maxDone := 0
	for _, l := range lines {
		if p := progressLine.FindStringSubmatch(l); p != nil {
			last = p
			if n, _ := strconv.Atoi(p[3]); n > maxDone {
				maxDone = n
			}
		}
		if strings.HasPrefix(l, "workload stopped") {
			break
		}
	}
	if last == nil {
		t.Fatal("no progress line before the workload stopped")
	}
	changes, _ := strconv.Atoi(last[1])
	captured, _ := strconv.Atoi(last[2])
	done, _ := strconv.Atoi(last[3])
	if changes == 0 || captured == 0 || done == 0 || done < maxDone {
		t.Fatalf("last progress line counts changes %d, captured %d, ops done %d (earlier lines reached %d): want the run's real counts",
			changes, captured, done, maxDone)
	}
}
