package capture

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/illumera/alignsync/internal/testenv"
)

// buildBinary builds the real alignsync binary for subprocess tests.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "alignsync")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/illumera/alignsync/cmd/alignsync")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/alignsync: %v\n%s", err, out)
	}
	return bin
}

// proc is an `alignsync capture` subprocess.
type proc struct {
	cmd  *exec.Cmd
	out  *testenv.LogBuffer
	done chan struct{}
}

// captureEnv is the environment of a capture subprocess for env: every
// setting through its environment variable, with short intervals.
func captureEnv(env *testenv.Env, slot string) []string {
	return append(os.Environ(),
		"DATABASE_URL="+env.DatabaseURL,
		"KAFKA_BROKERS="+strings.Join(env.Kafka.Brokers, ","),
		"ALIGNSYNC_CAPTURE_SLOT="+slot,
		"ALIGNSYNC_CAPTURE_STATUS_INTERVAL=100ms",
		"ALIGNSYNC_CAPTURE_HEARTBEAT_INTERVAL=500ms",
		"ALIGNSYNC_CAPTURE_LOCK_POLL_INTERVAL=100ms",
		"ALIGNSYNC_CAPTURE_RECONNECT_MAX=1s",
		"ALIGNSYNC_METRICS_ADDR=127.0.0.1:0",
	)
}

func startProc(t *testing.T, bin string, environ []string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, "capture"), out: &testenv.LogBuffer{}, done: make(chan struct{})}
	p.cmd.Env = environ
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting capture: %v", err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("capture pid %d output:\n%s", p.cmd.Process.Pid, p.out.String())
		}
	})
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and returns the exit code.
func (p *proc) stop(t *testing.T) int {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("capture did not stop within 30s of SIGTERM")
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
