package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestBinaryContainsNoTestCode: the production binary links neither package
// testing nor the test harness; the demo and the alignsim subcommand start
// their PostgreSQL, Kafka and simulator through internal/devenv.
func TestBinaryContainsNoTestCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/illumera/alignsync/cmd/alignsync") {
		t.Fatalf("go list -deps did not list the command itself:\n%s", out)
	}
	for _, dep := range deps {
		if dep == "testing" || strings.HasPrefix(dep, "testing/") || dep == "github.com/illumera/alignsync/internal/testenv" {
			t.Errorf("the alignsync binary depends on %s", dep)
		}
	}
}
