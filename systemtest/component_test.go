package systemtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/illumera/alignsync/internal/testenv"
)

// component is one alignsync subcommand run as a process and kept running
// as Kubernetes would: the test SIGKILLs and restarts it at will, and an
// exit nobody asked for is recorded (it is a finding) and restarted after a
// second.
type component struct {
	name    string
	bin     string
	args    []string
	env     []string
	logPath string

	mu       sync.Mutex
	log      *os.File
	proc     *testenv.Process
	starts   int
	kills    int
	exits    []string // exits nobody asked for
	stopping bool
}

func newComponent(dir, name, bin string, args, env []string) (*component, error) {
	path := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating the log of %s: %w", name, err)
	}
	return &component{name: name, bin: bin, args: args, env: env, logPath: path, log: f}, nil
}

// start runs the component unless it is running already.
func (c *component) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil || c.stopping {
		return nil
	}
	c.starts++
	fmt.Fprintf(c.log, "=== systemtest: start %d of %s at %s ===\n", c.starts, c.name, time.Now().Format(time.RFC3339Nano))
	p, err := testenv.StartProcess(c.bin, c.args, c.env, c.log)
	if err != nil {
		return err
	}
	c.proc = p
	go c.watch(p)
	return nil
}

// watch records an exit the test did not cause and restarts the component.
func (c *component) watch(p *testenv.Process) {
	<-p.Done()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != p {
		return // killed or stopped by the test
	}
	c.proc = nil
	if c.stopping {
		return
	}
	c.exits = append(c.exits, fmt.Sprintf("%s exited by itself with status %d at %s", c.name, p.ExitCode(), time.Now().Format(time.TimeOnly)))
	time.AfterFunc(time.Second, func() { _ = c.start() })
}

// kill SIGKILLs the running process, if any, and waits until it is gone.
func (c *component) kill() bool {
	c.mu.Lock()
	p := c.proc
	c.proc = nil
	if p != nil {
		c.kills++
		fmt.Fprintf(c.log, "=== systemtest: SIGKILL %d of %s at %s ===\n", c.kills, c.name, time.Now().Format(time.RFC3339Nano))
	}
	c.mu.Unlock()
	if p == nil {
		return false
	}
	p.Kill()
	return true
}

// stop sends SIGTERM and returns how the process ended; it is not
// restarted afterwards.
func (c *component) stop(timeout time.Duration) (int, error) {
	c.mu.Lock()
	c.stopping = true
	p := c.proc
	c.proc = nil
	c.mu.Unlock()
	if p == nil {
		return 0, fmt.Errorf("%s was not running when it was asked to stop", c.name)
	}
	return p.Stop(timeout)
}

// close kills whatever still runs and closes the log.
func (c *component) close() {
	c.mu.Lock()
	c.stopping = true
	c.mu.Unlock()
	c.kill()
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.log.Close()
}

func (c *component) running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.proc != nil
}

func (c *component) counts() (starts, kills int, exits []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.starts, c.kills, append([]string(nil), c.exits...)
}

// logLines counts the error-level lines of the component's log, and returns
// the last n lines, for the report and for a failure's diagnosis.
func (c *component) logLines(n int) (errors int, tail []string) {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return 0, []string{"reading " + c.logPath + ": " + err.Error()}
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, `"level":"ERROR"`) {
			errors++
		}
		tail = append(tail, line)
		if len(tail) > n {
			tail = tail[1:]
		}
	}
	return errors, tail
}
