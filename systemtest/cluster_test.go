package systemtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/illumera/alignsync/admin"
	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/internal/testenv"
)

// cluster is one whole system: PostgreSQL, Kafka and the Align simulator
// from testenv, and capture, serve and two sinks as processes of the
// shipped binary.
type cluster struct {
	t        *testing.T
	env      *testenv.Env
	ctl      *alignsim.Control
	bin      string
	logDir   string
	keyring  string // ALIGNSYNC_ENCRYPTION_KEYS
	secret   string // ALIGNSYNC_ADMIN_JWT_SECRET
	serveURL string
	token    string // a platform admin's API token from `alignsync admin-token`
	slot     string

	capture, serve *component
	sinks          []*component
}

func (c *cluster) components() []*component {
	return append([]*component{c.capture, c.serve}, c.sinks...)
}

// clusterOptions shape a cluster; the zero value is the system test's.
type clusterOptions struct {
	logDir string // components' logs (default: the test's temporary directory)
	sinks  int    // sink processes (default 2)
	// sinkAlignURL is the Align API the sinks call (default the simulator's),
	// for a test that puts a fault of its own in between.
	sinkAlignURL string
}

// newCluster builds the binary, starts serve, capture and the sinks, and
// waits until serve answers and capture streams its slot.
func newCluster(t *testing.T, o clusterOptions) *cluster {
	env := testenv.New(t)
	if o.logDir == "" {
		o.logDir = t.TempDir()
	}
	if o.sinks == 0 {
		o.sinks = 2
	}
	if o.sinkAlignURL == "" {
		o.sinkAlignURL = env.Align.BaseURL
	}
	c := &cluster{t: t, env: env, ctl: env.Align.Control, bin: testenv.Binary(t), logDir: o.logDir,
		keyring: "sys:" + base64.StdEncoding.EncodeToString(randomBytes(32)),
		secret:  base64.RawURLEncoding.EncodeToString(randomBytes(48))}
	// Slots belong to the server, which the package's tests share.
	c.slot = "alignsync_" + path.Base(strings.SplitN(env.DatabaseURL, "?", 2)[0])
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	c.serveURL = "http://127.0.0.1:" + strconv.Itoa(port)
	c.serve = c.component("serve", c.serveEnv(port))
	c.capture = c.component("capture", c.captureEnv())
	for i := 1; i <= o.sinks; i++ {
		c.sinks = append(c.sinks, c.component(fmt.Sprintf("sink-%d", i), c.sinkEnv(o.sinkAlignURL)))
	}
	t.Cleanup(func() {
		for _, comp := range c.components() {
			comp.close()
		}
		c.dropSlot()
	})
	for _, comp := range c.components() {
		if err := comp.start(); err != nil {
			t.Fatal(err)
		}
	}
	c.token = c.adminToken()
	c.waitFor(time.Minute, "serve to answer /readyz", func() bool { return c.get("/readyz") == http.StatusOK })
	c.waitFor(time.Minute, "capture to stream its replication slot", func() bool {
		var active bool
		err := env.Pool.QueryRow(context.Background(), `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, c.slot).Scan(&active)
		return err == nil && active
	})
	// Align's retries outlast a serve restart; after the last one, the status
	// sweep reads what a lost delivery would have said.
	if err := c.ctl.SetWebhookSchedule(context.Background(), []int{500, 1000, 2000, 4000, 8000}); err != nil {
		t.Fatal(err)
	}
	return c
}

// dropSlot drops capture's slot once its walsender is gone, so that it
// retains no WAL on the shared server for the package's later tests.
func (c *cluster) dropSlot() {
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		_, err := c.env.Pool.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
			WHERE slot_name = $1 AND NOT active`, c.slot)
		var left bool
		if err == nil && c.env.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`, c.slot).Scan(&left) == nil && !left {
			return
		}
	}
}

func (c *cluster) component(name string, env []string) *component {
	args := []string{"serve"}
	if name != "serve" {
		args = []string{strings.TrimRight(name, "-0123456789")}
	}
	comp, err := newComponent(c.logDir, name, c.bin, args, env)
	if err != nil {
		c.t.Fatal(err)
	}
	return comp
}

// The components' settings: production defaults, except for the intervals
// that decide how fast a test run heals (leases, retries, the status sweep).
func (c *cluster) serveEnv(port int) []string {
	return append(os.Environ(),
		"DATABASE_URL="+c.env.DatabaseURL,
		"ALIGN_BASE_URL="+c.env.Align.BaseURL,
		"ALIGNSYNC_ADDR=127.0.0.1:"+strconv.Itoa(port),
		"ALIGNSYNC_PUBLIC_BASE_URL="+c.serveURL,
		"ALIGNSYNC_ENCRYPTION_KEYS="+c.keyring,
		"ALIGNSYNC_ADMIN_JWT_SECRET="+c.secret,
		"ALIGNSYNC_STATUS_SWEEP_INTERVAL=2s",
		"ALIGNSYNC_STATUS_SWEEP_MIN_AGE=5s",
		"ALIGNSYNC_STATUS_SWEEP_RATE_PER_MINUTE=120",
		"ALIGNSYNC_HEALTH_CHECK_INTERVAL=20s",
	)
}

func (c *cluster) captureEnv() []string {
	return append(os.Environ(),
		"DATABASE_URL="+c.env.DatabaseURL,
		"KAFKA_BROKERS="+strings.Join(c.env.Kafka.Brokers, ","),
		"ALIGNSYNC_METRICS_ADDR=127.0.0.1:0",
		"ALIGNSYNC_CAPTURE_SLOT="+c.slot,
		"ALIGNSYNC_CAPTURE_STATUS_INTERVAL=500ms",
		"ALIGNSYNC_CAPTURE_HEARTBEAT_INTERVAL=2s",
		"ALIGNSYNC_CAPTURE_LOCK_POLL_INTERVAL=200ms",
		"ALIGNSYNC_CAPTURE_RECONNECT_MAX=2s",
	)
}

func (c *cluster) sinkEnv(alignURL string) []string {
	return append(os.Environ(),
		"DATABASE_URL="+c.env.DatabaseURL,
		"KAFKA_BROKERS="+strings.Join(c.env.Kafka.Brokers, ","),
		"ALIGN_BASE_URL="+alignURL,
		"ALIGNSYNC_ENCRYPTION_KEYS="+c.keyring,
		"ALIGNSYNC_METRICS_ADDR=127.0.0.1:0",
		"ALIGNSYNC_LEASE_TTL=3s",
		"ALIGNSYNC_RETRY_INTERVAL=250ms",
		"ALIGNSYNC_EXECUTOR_SLOTS=16",
	)
}

// adminToken signs a platform admin's API token as an operator would:
// `alignsync admin-token` with serve's secret in its environment.
func (c *cluster) adminToken() string {
	cmd := exec.Command(c.bin, "admin-token", "--subject", "systemtest@illumera.example", "--role", "platform_admin", "--lifetime", "24h")
	cmd.Env = append(os.Environ(), "ALIGNSYNC_ADMIN_JWT_SECRET="+c.secret)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("alignsync admin-token: %v: %s", err, out)
	}
	lines := strings.Split(string(out), "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "API token for ") && i+1 < len(lines) {
			return strings.TrimSpace(lines[i+1])
		}
	}
	c.t.Fatalf("alignsync admin-token printed no API token:\n%s", out)
	return ""
}

// adminAPI calls serve's admin API on a company with the platform admin's
// token and decodes a 200 answer into out.
func (c *cluster) adminAPI(ctx context.Context, method, companyID, path string, in, out any) error {
	return admin.CallConnectionAPI(ctx, c.serveURL, c.token, method, companyID, path, in, out)
}

func (c *cluster) get(path string) int {
	resp, err := http.Get(c.serveURL + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitFor polls ok until it holds, failing the test after timeout.
func (c *cluster) waitFor(timeout time.Duration, what string, ok func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			c.dumpLogs()
			c.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dumpLogs prints the end of every component's log, for a failure.
func (c *cluster) dumpLogs() {
	for _, comp := range c.components() {
		_, tail := comp.logLines(60)
		c.t.Logf("last lines of %s (%s):\n%s", comp.name, comp.logPath, strings.Join(tail, "\n"))
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}
