package pipeline

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"

	"github.com/illumera/alignsync/change"
	"github.com/illumera/alignsync/connect"
	"github.com/illumera/alignsync/internal/testenv"
)

// BenchmarkSinkMemory: 10,000 connected companies, 1,000 of them writing
// (a project, an engagement and 5 entries each); the sink runs as its own
// process and its peak resident set is read from /proc.
//
//	go test -run '^$' -bench BenchmarkSinkMemory -benchtime 1x -timeout 30m ./pipeline
func BenchmarkSinkMemory(b *testing.B) {
	h := newHarness(b)
	const connected, writing, entries = 10000, 1000, 5
	spec, companies := h.connectMany(b, connected)
	var msgs []kafka.Message
	for _, id := range companies[:writing] {
		f := h.seed(id)
		c := benchCompany{f}
		for _, m := range []struct {
			table string
			row   map[string]any
		}{{"projects", f.projectRow("active")}, {"engagements", f.engagementRow("accepted")}} {
			msgs = append(msgs, h.message(m.table, m.row, id))
		}
		for i := 0; i < entries; i++ {
			msgs = append(msgs, h.entryMessage(c, 15+i))
		}
	}
	bin := testenv.Binary(b)
	cmd := exec.Command(bin, "sink")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+h.env.DatabaseURL, "KAFKA_BROKERS="+h.env.Kafka.Brokers[0],
		"ALIGN_BASE_URL="+h.env.Align.BaseURL, "ALIGNSYNC_ENCRYPTION_KEYS="+spec, "ALIGNSYNC_METRICS_ADDR=127.0.0.1:0",
		"ALIGNSYNC_LOG_LEVEL=warn")
	var logs testenv.LogBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < len(msgs); i += 500 {
		if err := h.writer.WriteMessages(context.Background(), msgs[i:min(i+500, len(msgs))]...); err != nil {
			b.Fatal(err)
		}
	}
	want := writing * (4 + entries) // project, staffing page, invite, membership, entries
	h.waitAllDone(b, want)
	elapsed := time.Since(start)
	b.StopTimer()
	hwm, rss := procMemory(b, cmd.Process.Pid)
	b.ReportMetric(float64(hwm)/1024, "peak-RSS-MB")
	b.Logf("%d connected companies, %d writing: %d operations in %s; sink peak RSS %.1f MB (now %.1f MB)",
		connected, writing, want, elapsed.Round(time.Millisecond), float64(hwm)/1024, float64(rss)/1024)
	if b.Failed() {
		b.Logf("sink logs:\n%s", logs.String())
	}
}

// connectMany creates n Align orgs and n connected companies whose keys are
// sealed with a fresh keyring, and returns the keyring and the companies.
func (h *harness) connectMany(b *testing.B, n int) (string, []string) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	spec := "k1:" + base64.StdEncoding.EncodeToString(key)
	kr, err := connect.ParseKeyring(spec)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ids := make([]string, n)
	var cipher, nonce [][]byte
	var last4, orgs []string
	for i := range ids {
		org, err := h.env.Align.Control.CreateOrg(ctx, fmt.Sprintf("Tenant %05d", i), true)
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = uuid.NewString()
		sealed, err := kr.Seal(ids[i], []byte(org.OrgKey))
		if err != nil {
			b.Fatal(err)
		}
		cipher, nonce = append(cipher, sealed.Ciphertext), append(nonce, sealed.Nonce)
		last4, orgs = append(last4, org.OrgKey[len(org.OrgKey)-4:]), append(orgs, org.OrganizationID)
	}
	h.exec(`INSERT INTO companies (id, name) SELECT id, 'Tenant ' || id FROM unnest($1::uuid[]) AS id`, ids)
	h.exec(`INSERT INTO align_sync.connections (company_id, status, api_key_ciphertext, api_key_nonce, api_key_key_id,
		key_last4, organization_id, connected_lsn)
		SELECT c, 'connected', k, nn, 'k1', l, o, '0/0'
		  FROM unnest($1::uuid[], $2::bytea[], $3::bytea[], $4::text[], $5::uuid[]) AS t(c, k, nn, l, o)`,
		ids, cipher, nonce, last4, orgs)
	return spec, ids
}

// message is a change envelope inserting row, keyed by company.
func (h *harness) message(table string, row map[string]any, company string) kafka.Message {
	return kafka.Message{Key: []byte(company), Value: h.envelope(table, change.OpCreate, nil, row)}
}

// procMemory reads a process's peak and current resident set, in KiB.
func procMemory(b *testing.B, pid int) (hwm, rss int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmHWM:":
			hwm = v
		case "VmRSS:":
			rss = v
		}
	}
	return hwm, rss
}
