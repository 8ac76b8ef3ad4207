package capture

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/illumera/alignsync/internal/testenv"
)

// TestStandbyTakesOver: a second capture waits while the first holds the
// lock; when the first is killed it takes over and nothing is lost.
func TestStandbyTakesOver(t *testing.T) {
	bin := buildBinary(t)
	env := testenv.New(t)
	slot := "alignsync_" + dbName(env.DatabaseURL)
	environ := captureEnv(env, slot)
	active := startProc(t, bin, environ)
	eventually(t, 60*time.Second, "the first capture to stream", func() (bool, error) {
		return slotActive(t, env, slot), nil
	})
	standby := startProc(t, bin, environ)
	eventually(t, 30*time.Second, "the second capture to wait as standby", func() (bool, error) {
		return strings.Contains(standby.out.String(), `"state":"standby"`), nil
	})

	const rows = 300
	for i := 0; i < rows; i++ {
		if i == rows/2 {
			active.kill()
		}
		mustExec(t, env, `INSERT INTO companies (name) VALUES ($1)`, fmt.Sprintf("row %d", i))
	}
	r := newReader(t, env.Kafka.Brokers, testenv.CDCTopic)
	got := r.waitChanges(t, 60*time.Second, "every row", func(cs []consumed) bool {
		names := map[any]bool{}
		for _, c := range cs {
			names[c.Env.After["name"]] = true
		}
		return len(names) == rows
	})
	if !strings.Contains(standby.out.String(), "capture lock acquired") || standby.exited() {
		t.Fatalf("the standby did not take over:\n%s", standby.out.String())
	}
	t.Logf("%d messages for %d rows", len(got), rows)
	if code := standby.stop(t); code != 0 {
		t.Errorf("standby exited with %d after SIGTERM", code)
	}
}
