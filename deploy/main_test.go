package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// The binary the image ships, built as the Dockerfile builds it. Tests read
// its --help to check the deployment files against the real flags.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

func alignsyncBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "alignsync-deploy-test")
		if built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "alignsync")
		cmd := exec.Command("go", "build", "-trimpath", "-o", built.path, "./cmd/alignsync")
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("building alignsync with CGO_ENABLED=0: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

var envInHelp = regexp.MustCompile(`\[\$([A-Z0-9_]+)\]`)

// helpEnv is the set of environment variables `alignsync <command> --help`
// documents; a command the binary lacks fails the test.
func helpEnv(t *testing.T, command string) map[string]bool {
	t.Helper()
	out, err := exec.Command(alignsyncBinary(t), command, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("alignsync %s --help: %v\n%s", command, err, out)
	}
	env := map[string]bool{}
	for _, m := range envInHelp.FindAllStringSubmatch(string(out), -1) {
		env[m[1]] = true
	}
	return env
}

// listenEnv names, per command, the variable of the address that probes and
// Prometheus reach: in a container it must bind every interface.
var listenEnv = map[string]string{
	"capture":  "ALIGNSYNC_METRICS_ADDR",
	"sink":     "ALIGNSYNC_METRICS_ADDR",
	"serve":    "ALIGNSYNC_ADDR",
	"alignsim": "ALIGNSYNC_ALIGNSIM_ADDR",
}

// secretEnv are the variables that carry credentials.
var secretEnv = map[string]bool{
	"DATABASE_URL":               true,
	"ALIGNSYNC_ENCRYPTION_KEYS":  true,
	"ALIGNSYNC_ADMIN_JWT_SECRET": true,
}

// listenPort checks that addr binds every interface and returns its port.
func listenPort(addr string) (string, error) {
	host, port, ok := strings.Cut(addr, ":")
	if !ok || port == "" {
		return "", fmt.Errorf("%q is not host:port", addr)
	}
	if host != "0.0.0.0" && host != "" {
		return "", fmt.Errorf("%q binds %s only; in a container it must bind 0.0.0.0", addr, host)
	}
	return port, nil
}
