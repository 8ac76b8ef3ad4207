package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/pipeline"
	"github.com/illumera/alignsync/replay"
	"github.com/illumera/alignsync/store"
)

func init() {
	register(command{name: "replay", summary: "reset the sink's Kafka offsets, or replay one company's changes", run: runReplay})
}

type replayFlags struct {
	brokers                       []string
	group, topic                  string
	toEarliest, toLatest, execute bool
	toDatetime, toOffset, shiftBy string
	partitions                    []string
	company, fromDatetime         string
	databaseURL, encryptionKeys   string
	alignBaseURL                  string
	ratePerMinute, maxAttempts    int
	json                          bool

	reset   replay.ResetOptions
	from    time.Time
	to      time.Time
	keyring *credentials.Keyring
}

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c replayFlags
	f := newFlagSet("replay", "Offsets, as kafka-consumer-groups --reset-offsets: one of --to-earliest, --to-latest,\n"+
		"--to-datetime T, --to-offset N, --shift-by N, optionally --partitions 0,3. Prints the plan (dry run)\n"+
		"unless --execute; refuses while the group has active members; clamps to what the topic holds.\n\n"+
		"One company, without touching the group: --company ID --from-datetime T [--to-datetime T] reads that\n"+
		"range of every partition and runs the company's changes through the sink's own code (idempotent),\n"+
		"printing what it did and what was already done. Running sinks may keep running.")
	f.List(&c.brokers, "kafka-brokers", "KAFKA_BROKERS", nil, "comma-separated Kafka bootstrap brokers")
	f.String(&c.group, "group", "ALIGNSYNC_GROUP", "alignsync-sink", "the sink's consumer group")
	f.String(&c.topic, "topic", "ALIGNSYNC_TOPIC", "illumera.cdc", "the change topic")
	f.Bool(&c.toEarliest, "to-earliest", "ALIGNSYNC_REPLAY_TO_EARLIEST", false, "reset to the oldest offset the topic holds")
	f.Bool(&c.toLatest, "to-latest", "ALIGNSYNC_REPLAY_TO_LATEST", false, "reset to the end (skips everything not consumed yet)")
	f.String(&c.toDatetime, "to-datetime", "ALIGNSYNC_REPLAY_TO_DATETIME", "", "reset to the first offset at or after this time, e.g. 2026-11-25T00:00:00Z; with --company, the end of the range")
	f.String(&c.toOffset, "to-offset", "ALIGNSYNC_REPLAY_TO_OFFSET", "", "reset to this offset")
	f.String(&c.shiftBy, "shift-by", "ALIGNSYNC_REPLAY_SHIFT_BY", "", "move the current offsets by N (negative: back)")
	f.List(&c.partitions, "partitions", "ALIGNSYNC_REPLAY_PARTITIONS", nil, "only these partitions, e.g. 0,3 (default every partition)")
	f.Bool(&c.execute, "execute", "ALIGNSYNC_REPLAY_EXECUTE", false, "commit the new offsets (default: dry run)")
	f.String(&c.company, "company", "ALIGNSYNC_REPLAY_COMPANY", "", "replay this company's changes (UUID) instead of resetting offsets")
	f.String(&c.fromDatetime, "from-datetime", "ALIGNSYNC_REPLAY_FROM_DATETIME", "", "with --company: start of the range, e.g. 2026-11-25T00:00:00Z")
	f.String(&c.databaseURL, "database-url", "DATABASE_URL", "", "with --company: PostgreSQL URL of Illumera's database")
	f.String(&c.encryptionKeys, "encryption-keys", "ALIGNSYNC_ENCRYPTION_KEYS", "", "with --company: keyring that decrypts stored Align keys")
	f.String(&c.alignBaseURL, "align-base-url", "ALIGN_BASE_URL", "https://app.alignsoft.us/api/v1", "with --company: Align API root, version included")
	f.Int(&c.ratePerMinute, "align-rate-per-minute", "ALIGNSYNC_ALIGN_RATE_PER_MINUTE", 600, "with --company: client-side request budget per Align key")
	f.Int(&c.maxAttempts, "align-max-attempts", "ALIGNSYNC_ALIGN_MAX_ATTEMPTS", 5, "with --company: inline attempts per operation before it is parked")
	f.Bool(&c.json, "json", "ALIGNSYNC_REPLAY_JSON", false, "print the plan or the company result as JSON")
	if code := parseFlags(f, args, stdout, stderr, func() { c.validate(f) }); code >= 0 {
		return code
	}
	if c.company != "" {
		return c.replayCompany(ctx, f, stdout, stderr)
	}
	p, err := replay.ResetOffsets(ctx, c.brokers, c.reset)
	if err != nil {
		fmt.Fprintf(stderr, "alignsync replay: %v\n", err)
		return 1
	}
	if c.json {
		err = json.NewEncoder(stdout).Encode(p)
	} else {
		err = p.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "alignsync replay: writing the plan: %v\n", err)
		return 1
	}
	return 0
}

func (c *replayFlags) validate(f *flagSet) {
	if len(c.brokers) == 0 {
		f.Require("", "kafka-brokers")
	}
	if c.toDatetime != "" {
		t, err := replay.ParseTime(c.toDatetime)
		if err != nil {
			f.Problem("--to-datetime %q: %v", c.toDatetime, err)
		}
		c.to = t
	}
	if c.company != "" {
		c.validateCompany(f)
		return
	}
	if c.fromDatetime != "" {
		f.Problem("--from-datetime goes with --company; to reset the group to a time use --to-datetime")
	}
	targets := 0
	for _, given := range []bool{c.toEarliest, c.toLatest, c.toDatetime != "", c.toOffset != "", c.shiftBy != ""} {
		if given {
			targets++
		}
	}
	if targets != 1 {
		f.Problem("give exactly one of --to-earliest, --to-latest, --to-datetime, --to-offset, --shift-by (or --company ID --from-datetime T)")
	}
	c.reset = replay.ResetOptions{Group: c.group, Topic: c.topic, Execute: c.execute}
	switch {
	case c.toEarliest:
		c.reset.Target = replay.Target{Kind: replay.ToEarliest}
	case c.toLatest:
		c.reset.Target = replay.Target{Kind: replay.ToLatest}
	case c.toDatetime != "":
		c.reset.Target = replay.Target{Kind: replay.ToDatetime, Time: c.to}
	case c.toOffset != "":
		c.reset.Target = replay.Target{Kind: replay.ToOffset, Offset: parseInt64(f, "to-offset", c.toOffset)}
	case c.shiftBy != "":
		c.reset.Target = replay.Target{Kind: replay.ShiftBy, Offset: parseInt64(f, "shift-by", c.shiftBy)}
	}
	for _, p := range c.partitions {
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil || n < 0 {
			f.Problem("--partitions: %q is not a partition number", p)
			continue
		}
		c.reset.Partitions = append(c.reset.Partitions, int32(n))
	}
}

func (c *replayFlags) validateCompany(f *flagSet) {
	if _, err := credentials.CanonicalID(c.company); err != nil {
		f.Problem("--company %q: not a UUID", c.company)
	}
	f.Require(c.fromDatetime, "from-datetime")
	if c.fromDatetime != "" {
		t, err := replay.ParseTime(c.fromDatetime)
		if err != nil {
			f.Problem("--from-datetime %q: %v", c.fromDatetime, err)
		}
		c.from = t
		if !c.to.IsZero() && !c.to.After(t) {
			f.Problem("--to-datetime must be after --from-datetime")
		}
	}
	if c.toEarliest || c.toLatest || c.toOffset != "" || c.shiftBy != "" || len(c.partitions) > 0 || c.execute {
		f.Problem("--company replays a time range and never touches the group: drop --to-earliest, --to-latest, --to-offset, --shift-by, --partitions and --execute")
	}
	f.Require(c.databaseURL, "database-url")
	f.Require(c.encryptionKeys, "encryption-keys")
	c.keyring = parseKeyring(f, c.encryptionKeys)
	if c.ratePerMinute < 1 || c.maxAttempts < 1 {
		f.Problem("--align-rate-per-minute and --align-max-attempts must be at least 1")
	}
}

func parseInt64(f *flagSet, name, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f.Problem("--%s %q: not an integer", name, s)
	}
	return n
}

func (c *replayFlags) replayCompany(ctx context.Context, f *flagSet, stdout, stderr io.Writer) int {
	logger := f.Logger(stderr)
	fail := func(err error) int {
		fmt.Fprintf(stderr, "alignsync replay: %v\n", err)
		return 1
	}
	pool, err := store.Open(ctx, c.databaseURL)
	if err != nil {
		return fail(err)
	}
	defer pool.Close()
	// The replay only decrypts keys and marks refused ones: the credential
	// store is all it needs.
	conns, err := credentials.New(pool, c.keyring)
	if err != nil {
		return fail(err)
	}
	sink, err := pipeline.New(pipeline.Config{Brokers: c.brokers, Topic: c.topic, Group: c.group, AlignBaseURL: c.alignBaseURL,
		AlignRatePerMinute: c.ratePerMinute, AlignMaxAttempts: c.maxAttempts}, pool, conns, logger, prometheus.NewRegistry())
	if err != nil {
		return fail(err)
	}
	defer sink.Close()
	company, _ := credentials.CanonicalID(c.company)
	out := stdout
	if c.json {
		out = nil
	}
	res, err := replay.ReplayCompany(ctx, c.brokers, sink, replay.CompanyOptions{Topic: c.topic, CompanyID: company,
		From: c.from, To: c.to, Out: out})
	if c.json {
		if jerr := json.NewEncoder(stdout).Encode(res); jerr != nil && err == nil {
			err = jerr
		}
	} else if serr := res.WriteSummary(stdout); serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		return fail(err)
	}
	return 0
}
