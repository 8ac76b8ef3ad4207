package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/internal/ops"
	"github.com/illumera/alignsync/pipeline"
	"github.com/illumera/alignsync/pipeline/ledger"
	"github.com/illumera/alignsync/store"
)

func init() {
	register(command{name: "sink", summary: "consume illumera.cdc and make the ordered Align calls", run: runSink})
	register(command{name: "retry-failed", summary: "reset a company's failed operations to pending", run: runRetryFailed})
}

type sinkFlags struct {
	databaseURL, encryptionKeys, metricsAddr string
	cfg                                      pipeline.Config
	keyring                                  *credentials.Keyring // parsed by validate
}

func (s *sinkFlags) register(f *flagSet) {
	f.String(&s.databaseURL, "database-url", "DATABASE_URL", "", "PostgreSQL URL of Illumera's database (align_sync schema migrated)")
	f.List(&s.cfg.Brokers, "kafka-brokers", "KAFKA_BROKERS", nil, "comma-separated Kafka bootstrap brokers, e.g. 127.0.0.1:9092")
	f.String(&s.cfg.Topic, "topic", "ALIGNSYNC_TOPIC", "illumera.cdc", "topic capture produces to")
	f.String(&s.cfg.DLQTopic, "dlq-topic", "ALIGNSYNC_DLQ_TOPIC", "illumera.cdc.dlq", "where undecodable messages go")
	f.String(&s.cfg.Group, "group", "ALIGNSYNC_GROUP", "alignsync-sink", "Kafka consumer group; sink instances in one group share the partitions")
	f.String(&s.cfg.AlignBaseURL, "align-base-url", "ALIGN_BASE_URL", "https://app.alignsoft.us/api/v1", "Align API root, version included")
	f.Int(&s.cfg.AlignRatePerMinute, "align-rate-per-minute", "ALIGNSYNC_ALIGN_RATE_PER_MINUTE", 600, "client-side request budget per Align key")
	f.Int(&s.cfg.AlignMaxAttempts, "align-max-attempts", "ALIGNSYNC_ALIGN_MAX_ATTEMPTS", 5, "attempts of a transient failure (5xx, timeout) before the operation is parked as failed")
	f.List(&s.cfg.SkipTables, "skip-tables", "ALIGNSYNC_SKIP_TABLES", nil, "tables whose changes are consumed but not synced (e.g. time_entries)")
	f.Int(&s.cfg.Slots, "executor-slots", "ALIGNSYNC_EXECUTOR_SLOTS", 128, "companies this instance runs at once; with Align at ~100 ms a call, each busy slot makes ~10 calls/s")
	f.Int(&s.cfg.MaxLeased, "max-leased-companies", "ALIGNSYNC_MAX_LEASED_COMPANIES", 0, "companies this instance holds at once, running or waiting for their rate budget (0: 4 × executor slots)")
	f.Int(&s.cfg.TurnOps, "turn-operations", "ALIGNSYNC_TURN_OPERATIONS", 10, "operations a company runs before the next company in line gets the slot")
	f.Duration(&s.cfg.LeaseTTL, "lease-ttl", "ALIGNSYNC_LEASE_TTL", 10*time.Second, "how long a company's lease lasts unrenewed: a killed instance's companies move to the others after it")
	f.Duration(&s.cfg.ClaimInterval, "claim-interval", "ALIGNSYNC_CLAIM_INTERVAL", 250*time.Millisecond, "how often the ledger is polled for companies with work recorded by other instances or retries coming due")
	f.Duration(&s.cfg.RetryInterval, "retry-interval", "ALIGNSYNC_RETRY_INTERVAL", time.Second, "first wait before retrying a transient failure (doubling, at most 30 s)")
	f.String(&s.encryptionKeys, "encryption-keys", "ALIGNSYNC_ENCRYPTION_KEYS", "", "keyring that decrypts stored Align keys: id:base64(32 bytes)[,id:base64...]")
	f.String(&s.metricsAddr, "metrics-addr", "ALIGNSYNC_METRICS_ADDR", "127.0.0.1:9102", "listen address of /metrics, /healthz and /readyz")
}

func (s *sinkFlags) validate(f *flagSet) {
	f.Require(s.databaseURL, "database-url")
	f.Require(s.encryptionKeys, "encryption-keys")
	if len(s.cfg.Brokers) == 0 {
		f.Require("", "kafka-brokers")
	}
	s.keyring = parseKeyring(f, s.encryptionKeys)
	if s.cfg.Slots < 1 {
		f.Problem("--executor-slots %d: must be at least 1", s.cfg.Slots)
	}
	if s.cfg.MaxLeased != 0 && s.cfg.MaxLeased < s.cfg.Slots {
		f.Problem("--max-leased-companies %d: must be 0 or at least --executor-slots (%d)", s.cfg.MaxLeased, s.cfg.Slots)
	}
	if s.cfg.TurnOps < 1 {
		f.Problem("--turn-operations %d: must be at least 1", s.cfg.TurnOps)
	}
	if s.cfg.LeaseTTL < 3*time.Second {
		f.Problem("--lease-ttl %s: must be at least 3s", s.cfg.LeaseTTL)
	}
	if s.cfg.ClaimInterval <= 0 || s.cfg.RetryInterval <= 0 {
		f.Problem("--claim-interval %s and --retry-interval %s: must be positive", s.cfg.ClaimInterval, s.cfg.RetryInterval)
	}
	if s.cfg.AlignMaxAttempts < 1 {
		f.Problem("--align-max-attempts %d: must be at least 1", s.cfg.AlignMaxAttempts)
	}
}

func runSink(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var s sinkFlags
	f := newFlagSet("sink", "Consumes the change topic in a consumer group and records each change's Align\n"+
		"operations in align_sync.outbox, each company's durable queue, before committing\n"+
		"offsets. Executor slots take companies with ready work in turn (one executor per\n"+
		"company across all instances, under a lease) and make the ordered, idempotent\n"+
		"Align calls; a company waiting for its rate budget or a retry gives its slot up.")
	s.register(f)
	if code := parseFlags(f, args, stdout, stderr, func() { s.validate(f) }); code >= 0 {
		return code
	}
	logger := f.Logger(stderr)
	if err := serveSink(ctx, s, logger); err != nil {
		logger.Error("sink stopped", slog.Any("error", err))
		return 1
	}
	return 0
}

func serveSink(ctx context.Context, s sinkFlags, logger *slog.Logger) error {
	pool, err := store.Open(ctx, s.databaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	keys, err := credentials.New(pool, s.keyring)
	if err != nil {
		return err
	}
	reg := ops.NewRegistry()
	sink, err := pipeline.New(s.cfg, pool, keys, logger, reg)
	if err != nil {
		return err
	}
	defer sink.Close()
	srv, err := ops.Start(s.metricsAddr, ops.Handler(reg, sink.Ready), logger)
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	logger.Info("sink starting", slog.String("group", s.cfg.Group), slog.String("topic", s.cfg.Topic),
		slog.Any("brokers", s.cfg.Brokers), slog.String("align_base_url", s.cfg.AlignBaseURL),
		slog.Any("skip_tables", s.cfg.SkipTables), slog.String("metrics_addr", srv.Addr))
	return sink.Run(ctx)
}

func runRetryFailed(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var url, company string
	f := newFlagSet("retry-failed", "Puts every failed operation of one company back to pending; running sinks pick them\n"+
		"up within their retry interval, in their original order.")
	f.String(&url, "database-url", "DATABASE_URL", "", "PostgreSQL URL of Illumera's database")
	f.String(&company, "company", "ALIGNSYNC_COMPANY", "", "the company id (UUID)")
	if code := parseFlags(f, args, stdout, stderr, func() {
		f.Require(url, "database-url")
		f.Require(company, "company")
		if company != "" {
			if _, err := credentials.CanonicalID(company); err != nil {
				f.Problem("--company %q: not a UUID", company)
			}
		}
	}); code >= 0 {
		return code
	}
	pool, err := store.Open(ctx, url)
	if err != nil {
		fmt.Fprintf(stderr, "alignsync retry-failed: %v\n", err)
		return 1
	}
	defer pool.Close()
	n, err := ledger.RetryFailed(ctx, pool, company)
	if err != nil {
		fmt.Fprintf(stderr, "alignsync retry-failed: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "reset %d failed operation(s) of company %s to pending\n", n, company)
	return 0
}
