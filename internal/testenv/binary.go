package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary builds the alignsync command once per test binary and returns its
// path, for tests that must kill the real process.
func Binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "alignsync-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "alignsync")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/illumera/alignsync/cmd/alignsync").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("building alignsync: %v: %s", err, strings.TrimSpace(string(out)))
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}
