package pipeline

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/internal/testenv"
)

// startSinkProcess runs the real `alignsync sink` binary against the world.
func (w *world) startSinkProcess(t *testing.T, bin string, logs *testenv.LogBuffer) *exec.Cmd {
	cmd := exec.Command(bin, "sink")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+w.env.DatabaseURL,
		"KAFKA_BROKERS="+w.env.Kafka.Brokers[0],
		"ALIGN_BASE_URL="+w.env.Align.BaseURL,
		"ALIGNSYNC_ENCRYPTION_KEYS="+w.keyring,
		"ALIGNSYNC_METRICS_ADDR=127.0.0.1:0",
		"ALIGNSYNC_RETRY_INTERVAL=200ms",
		"ALIGNSYNC_LEASE_TTL=3s",
	)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the sink: %v", err)
	}
	return cmd
}

// TestSinkKilledRepeatedlyConverges SIGKILLs the sink process at random
// moments while it works; after the last restart Align holds exactly what
// Illumera wrote: nothing lost, nothing doubled.
func TestSinkKilledRepeatedlyConverges(t *testing.T) {
	w := newWorld(t)
	bin := testenv.Binary(t)
	var companies []*companyWork
	for i := 0; i < 5; i++ {
		id, org := w.connectCompany(fmt.Sprintf("Killed %d", i))
		companies = append(companies, &companyWork{id: id, org: org})
	}
	// Slow Align a little so kills land mid-operation.
	latency := 5
	if _, err := w.env.Align.Control.SetFaults(w.ctx(), alignsim.Faults{LatencyMs: &latency}); err != nil {
		t.Fatal(err)
	}
	var logs testenv.LogBuffer
	cmd := w.startSinkProcess(t, bin, &logs)
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	go func() {
		for _, cw := range companies {
			w.writeCompanyWorkload(cw, 100)
		}
	}()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for kill := 0; kill < 5; kill++ {
		time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: %v", kill, err)
		}
		_ = cmd.Wait()
		cmd = w.startSinkProcess(t, bin, &logs)
	}
	for _, cw := range companies {
		st := w.waitFor(cw.org, "company "+cw.id+" synced after the kills", func(s alignsim.State) bool { return synced(s, cw) })
		checkConverged(t, st, cw)
		w.waitOutbox(cw.id, "every operation done", func(c map[string]int) bool { return len(c) == 1 && c["done"] > 0 })
	}
	if t.Failed() {
		t.Logf("sink logs:\n%s", logs.String())
	}
}
