package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/illumera/alignsync/internal/testenv"
)

// lostSlotArgs are capture's flags for env with a slot that is missing while
// the change topic already holds a change: a lost slot, not a first start.
func lostSlotArgs(t *testing.T, env *testenv.Env) []string {
	t.Helper()
	if err := env.CDCWriter(t).WriteMessages(context.Background(), kafka.Message{Key: []byte("c1"), Value: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	return []string{"--database-url", env.DatabaseURL, "--kafka-brokers", strings.Join(env.Kafka.Brokers, ","),
		"--slot", "cmd_lost_slot", "--metrics-addr", "127.0.0.1:0"}
}

var servingAddr = regexp.MustCompile(`"msg":"serving metrics","addr":"([^"]+)"`)

func get(url string) (int, string, error) {
	res, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, string(body), err
}

// TestCaptureServesTheLostSlotThenExits: the refusal is scrapeable (metric,
// /readyz) for --exit-delay, and the command exits 1 with the recovery in
// its log.
func TestCaptureServesTheLostSlotThenExits(t *testing.T) {
	env := testenv.New(t)
	var stderr testenv.LogBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	args := append([]string{"capture", "--exit-delay", "10m"}, lostSlotArgs(t, env)...)
	go func() { done <- run(ctx, args, io.Discard, &stderr) }()

	deadline := time.Now().Add(time.Minute)
	var metrics, ready string
	for {
		if m := servingAddr.FindStringSubmatch(stderr.String()); m != nil {
			_, metrics, _ = get("http://" + m[1] + "/metrics")
			var code int
			code, ready, _ = get("http://" + m[1] + "/readyz")
			if strings.Contains(metrics, `alignsync_capture_slot_lost{reason="dropped"} 1`) && code == http.StatusServiceUnavailable {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no lost slot served within a minute; /metrics:\n%s\n/readyz: %s\nlog:\n%s", metrics, ready, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(ready, "--recreate-slot") {
		t.Errorf("/readyz does not name the recovery: %s", ready)
	}
	cancel() // SIGTERM during the delay ends it at once
	if code := <-done; code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "alignsync resync --since") {
		t.Errorf("the log does not name the resync:\n%s", stderr.String())
	}
}

// TestRecreateSlotCommand: --recreate-slot replaces the lost slot and prints
// the resync to run; run again, it leaves the now usable slot alone.
func TestRecreateSlotCommand(t *testing.T) {
	env := testenv.New(t)
	args := append([]string{"capture", "--recreate-slot"}, lostSlotArgs(t, env)...)
	t.Cleanup(func() { env.Exec(t, `SELECT pg_drop_replication_slot('cmd_lost_slot')`) })
	for i, want := range []string{"Replication slot cmd_lost_slot recreated at", "is not lost: left as it is"} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 0 || !strings.Contains(out.String(), want) {
			t.Fatalf("run %d: exit %d, want 0 and %q; output:\n%s%s", i+1, code, want, out.String(), errOut.String())
		}
		if i == 0 && !strings.Contains(out.String(), "alignsync resync --since") {
			t.Errorf("--recreate-slot does not say what to run next:\n%s", out.String())
		}
	}
}
