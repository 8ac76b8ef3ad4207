package dashboards

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// liveWindow stands in for $__rate_interval: Grafana derives it from the
// scrape interval (1 s here) and the panel width; 30 s keeps rates defined
// across the workload's pauses.
const liveWindow = "30s"

// TestPanelsReturnDataInPrometheus runs `alignsync demo` (the whole pipeline
// on a workload, every component's metrics on one /metrics), has a real
// Prometheus scrape it every second, and evaluates every panel expression
// through Prometheus's HTTP API: each must return a value. The alert rules
// are loaded too, and must evaluate without error.
func TestPanelsReturnDataInPrometheus(t *testing.T) {
	promBin := prometheusBinary(t)
	bin := alignsyncBinary(t)
	opsAddr := freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	demo := startDemo(t, bin, opsAddr)
	// Ready before Prometheus starts, so that its first scrapes see the workload.
	waitFor(ctx, t, 4*time.Minute, "the demo's workload to reach /metrics", func() (bool, string) {
		demo.check(t)
		n, err := scrapeSum("http://"+opsAddr+"/metrics", "alignsync_sink_operations_total")
		if err != nil {
			return false, err.Error()
		}
		return n > 0, fmt.Sprintf("alignsync_sink_operations_total = %g", n)
	})
	prom := startPrometheus(t, promBin, opsAddr)
	waitFor(ctx, t, time.Minute, "Prometheus to scrape the demo", func() (bool, string) {
		r, err := prom.query(ctx, `up{job="alignsync-demo"} == 1`)
		if err != nil {
			return false, err.Error()
		}
		return len(r) > 0, fmt.Sprintf("%d targets up", len(r))
	})

	// Each expression gets polled until it returns a value: rates need two
	// samples in their window, and some panels (a reconciliation's age) wait
	// for the workload to reach them.
	exprs := expressions(t, liveWindow)
	got := make([]string, len(exprs))
	last := make([]string, len(exprs))
	deadline := time.Now().Add(3 * time.Minute)
	for {
		demo.check(t)
		missing := 0
		for i, e := range exprs {
			if got[i] != "" {
				continue
			}
			r, err := prom.query(ctx, e.expr)
			switch {
			case err != nil:
				last[i] = err.Error()
			case r.hasValue():
				got[i] = r.String()
			default:
				last[i] = "no value: " + r.String()
			}
			if got[i] == "" {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(2 * time.Second)
	}
	for i, e := range exprs {
		if got[i] != "" {
			t.Logf("%-36s %s  %s", e.panel, e.refID, got[i])
		} else {
			t.Errorf("%-36s %s  returned no data (%s)\n\t%s", e.panel, e.refID, last[i], e.expr)
		}
	}
	prom.checkRules(ctx, t)
}

// prometheusBinary finds Prometheus; its absence fails the test, because CI
// installs it (Debian package prometheus).
func prometheusBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	t.Fatal("prometheus not found on PATH: install the Debian package prometheus (apt-get install prometheus)")
	return ""
}

// alignsyncBinary builds ./cmd/alignsync, or takes $ALIGNSYNC_BIN when set.
func alignsyncBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ALIGNSYNC_BIN"); p != "" {
		return p
	}
	out := filepath.Join(t.TempDir(), "alignsync")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/alignsync")
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building alignsync: %v\n%s", err, b)
	}
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// child is a process the test started.
type child struct {
	name    string
	logPath string
	done    chan struct{} // closed when the process has exited
	err     error         // its exit status, once done
}

// check fails the test at once if the process has exited: waiting longer for
// it would only hide why.
func (c *child) check(t *testing.T) {
	t.Helper()
	select {
	case <-c.done:
		t.Fatalf("%s exited early (%v); last lines of its output:\n%s", c.name, c.err, tail(c.logPath, 40))
	default:
	}
}

// startProcess runs a long-lived child with its output in a file, and stops
// it at cleanup: SIGINT, then SIGKILL if it has not exited in time.
func startProcess(t *testing.T, name string, grace time.Duration, env []string, argv ...string) *child {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	c := &child{name: name, logPath: logPath, done: make(chan struct{})}
	go func() { c.err = cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-c.done:
		case <-time.After(grace):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // its process group: a demo's PostgreSQL too
			<-c.done
		}
		logFile.Close()
		if t.Failed() {
			t.Logf("--- last lines of %s's output:\n%s", name, tail(logPath, 40))
		}
	})
	return c
}

func startDemo(t *testing.T, bin, opsAddr string) *child {
	t.Helper()
	// The demo's temporary PostgreSQL lives under TMPDIR: a directory of the
	// test's own, removed after the demo stops however it stops. It must be
	// traversable by the postgres user, and short enough for a socket path.
	tmp, err := os.MkdirTemp("", "alignsync-demo-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	// The test stops the demo itself (its metrics are all it needs, not the
	// settling and report that follow Ctrl-C); the duration only bounds a
	// leaked one.
	return startProcess(t, "demo", 20*time.Second, []string{"TMPDIR=" + tmp},
		bin, "demo", "--duration", "10m", "--ops-addr", opsAddr)
}

type prometheusServer struct {
	base string
}

func startPrometheus(t *testing.T, bin, target string) *prometheusServer {
	t.Helper()
	dir := t.TempDir()
	rules, err := filepath.Abs("../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: alignsync-demo
    static_configs:
      - targets: [%q]
`, rules, target)
	configPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	proc := startProcess(t, "prometheus", 15*time.Second, nil, bin,
		"--config.file="+configPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	p := &prometheusServer{base: "http://" + addr}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitFor(ctx, t, time.Minute, "Prometheus to be ready", func() (bool, string) {
		proc.check(t)
		resp, err := http.Get(p.base + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return p
}

// result is an instant query's answer: a vector, or a scalar as one sample
// without labels.
type result []sample

type sample struct {
	labels map[string]string
	value  string
}

func (r result) hasValue() bool {
	for _, s := range r {
		if v, err := strconv.ParseFloat(s.value, 64); err == nil && !math.IsNaN(v) {
			return true
		}
	}
	return false
}

func (r result) String() string {
	if len(r) == 0 {
		return "(empty)"
	}
	parts := make([]string, 0, len(r))
	for _, s := range r {
		var ls []string
		for k, v := range s.labels {
			ls = append(ls, k+"="+strconv.Quote(v))
		}
		sort.Strings(ls)
		parts = append(parts, "{"+strings.Join(ls, ",")+"} "+s.value)
	}
	sort.Strings(parts)
	if len(parts) > 6 {
		parts = append(parts[:6], fmt.Sprintf("… %d more", len(parts)-6))
	}
	return strings.Join(parts, ", ")
}

func (p *prometheusServer) query(ctx context.Context, expr string) (result, error) {
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := p.get(ctx, "/api/v1/query?query="+url.QueryEscape(expr), &body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query failed: %s", body.Error)
	}
	switch body.Data.ResultType {
	case "vector":
		var v []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(body.Data.Result, &v); err != nil {
			return nil, err
		}
		out := make(result, 0, len(v))
		for _, s := range v {
			str, _ := s.Value[1].(string)
			out = append(out, sample{labels: s.Metric, value: str})
		}
		return out, nil
	case "scalar":
		var v [2]any
		if err := json.Unmarshal(body.Data.Result, &v); err != nil {
			return nil, err
		}
		str, _ := v[1].(string)
		return result{{value: str}}, nil
	default:
		return nil, fmt.Errorf("unexpected result type %q", body.Data.ResultType)
	}
}

// checkRules asserts that every alert rule has been evaluated without error
// against the demo's metrics.
func (p *prometheusServer) checkRules(ctx context.Context, t *testing.T) {
	t.Helper()
	var body struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
					State     string `json:"state"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := p.get(ctx, "/api/v1/rules", &body); err != nil {
		t.Fatalf("reading the rules: %v", err)
	}
	n := 0
	for _, g := range body.Data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health != "ok" {
				t.Errorf("alert %s: health %q %s", r.Name, r.Health, r.LastError)
			} else {
				t.Logf("alert %-36s evaluated: %s", r.Name, r.State)
			}
		}
	}
	if n == 0 {
		t.Error("Prometheus loaded no alert rule from deploy/prometheus/alerts.yml")
	}
}

func (p *prometheusServer) get(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(into)
}

// scrapeSum adds up every sample of a metric in a text exposition.
func scrapeSum(metricsURL, name string) (float64, error) {
	resp, err := http.Get(metricsURL)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		switch {
		case strings.HasPrefix(rest, "{"):
			rest = rest[strings.LastIndex(rest, "}")+1:]
		case !strings.HasPrefix(rest, " "):
			continue // another metric sharing the prefix
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(fields[0], 64); err == nil {
			sum += v
		}
	}
	return sum, sc.Err()
}

// waitFor polls cond every 500 ms until it holds, failing the test at the
// deadline with cond's last explanation.
func waitFor(ctx context.Context, t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("gave up after %s waiting for %s: %s", limit, what, why)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
