package capture

import (
	"testing"
	"time"

	"github.com/illumera/alignsync/internal/testenv"
)

// TestIdleHeartbeatAdvancesSlot: with the published tables idle and another
// table written, the heartbeat keeps confirmed_flush_lsn advancing.
func TestIdleHeartbeatAdvancesSlot(t *testing.T) {
	env := testenv.New(t)
	mustExec(t, env, `CREATE TABLE capture_noise (id serial PRIMARY KEY, v text)`)
	cfg := testConfig(t, env)
	c := startCapture(t, cfg)
	c.waitStreaming(t)

	for round := 0; round < 3; round++ {
		mustExec(t, env, `INSERT INTO capture_noise (v) SELECT md5(i::text) FROM generate_series(1, 2000) i`)
		target := currentLSN(t, env)
		eventually(t, 30*time.Second, "confirmed_flush_lsn to pass "+target.String(), func() (bool, error) {
			return confirmedFlush(t, env, cfg.Slot) >= target, nil
		})
	}
	if n := gaugeValue(t, c.reg, "alignsync_capture_heartbeats_total"); n == 0 {
		t.Fatalf("no heartbeat counted")
	}
	if n := gaugeValue(t, c.reg, "alignsync_capture_transactions_total"); n != 0 {
		t.Fatalf("%v transactions acknowledged, want 0: the published tables were idle", n)
	}
}
