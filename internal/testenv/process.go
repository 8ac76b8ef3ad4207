package testenv

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"syscall"
	"time"
)

// Process is one run of a subprocess (the alignsync binary, say) whose
// output goes to out. It dies with the test binary (SIGKILL on the parent's
// death), so a failed test leaves no component running.
type Process struct {
	Cmd  *exec.Cmd
	done chan struct{}
}

// StartProcess starts bin with args and the complete environment env,
// writing stdout and stderr to out.
func StartProcess(bin string, args, env []string, out io.Writer) (*Process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s %v: %w", bin, args, err)
	}
	p := &Process{Cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitCode is the exit status once Done is closed (-1 when a signal ended it).
func (p *Process) ExitCode() int { return p.Cmd.ProcessState.ExitCode() }

// Kill sends SIGKILL and waits until the process is gone.
func (p *Process) Kill() {
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and returns the exit status, or an error when the
// process is still running after timeout (it is then killed).
func (p *Process) Stop(timeout time.Duration) (int, error) {
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.ExitCode(), nil
	case <-time.After(timeout):
		p.Kill()
		return -1, errors.New("still running " + timeout.String() + " after SIGTERM")
	}
}

// FreePort returns a loopback TCP port that was free a moment ago, for a
// subprocess whose address must be known before it starts and kept across
// its restarts.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
