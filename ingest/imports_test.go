package ingest_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestIngestNeverReachesAlign: ingest never calls Align, so neither the Align
// client nor the connect workflow (which calls Align) may be among its
// dependencies; it resolves connections through the credential store.
func TestIngestNeverReachesAlign(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || !slices.Contains(deps, "github.com/illumera/alignsync/connect/credentials") {
		t.Fatalf("go list -deps listed %d packages without the credential store:\n%s", len(deps), out)
	}
	for _, banned := range []string{"github.com/illumera/alignsync/sinks/align", "github.com/illumera/alignsync/connect"} {
		if slices.Contains(deps, banned) {
			t.Errorf("ingest depends on %s", banned)
		}
	}
}
