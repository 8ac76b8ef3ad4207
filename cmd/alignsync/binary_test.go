package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// placeholderURL is a URL on the reserved .invalid domain: a constructor fed
// an address it never uses, the sign of a type wider than its caller needs.
var placeholderURL = regexp.MustCompile(`[a-z]+://[^\s"'` + "`" + `]*\.invalid\b`)

// TestNoPlaceholderURLs: no production code builds anything with a
// placeholder URL (the sink, reconcile and replay read keys from the
// credential store, which needs no URL).
func TestNoPlaceholderURLs(t *testing.T) {
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if m := placeholderURL.FindString(line); m != "" {
				t.Errorf("%s:%d: placeholder URL %s", path, i+1, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("searched only %d Go files under %s", files, root)
	}
}
