package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/illumera/alignsync/capture"
	"github.com/illumera/alignsync/internal/ops"
)

func init() {
	register(command{name: "capture", summary: "stream PostgreSQL changes (logical replication) into Kafka", run: runCapture})
}

func runCapture(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := capture.DefaultConfig()
	var check, recreate bool
	var metricsAddr, cpuProfile string
	var exitDelay time.Duration
	f := newFlagSet("capture", "Reads the publication's changes from a logical replication slot (pgoutput) and produces\n"+
		"them to Kafka, confirming a position to PostgreSQL only once Kafka holds every change up to\n"+
		"it. Creates the publication and slot on a first start. Several instances may run: one streams,\n"+
		"the others wait as standbys and take over when it dies. --check inspects the database\n"+
		"(wal_level, privileges, publication, REPLICA IDENTITY, slot), prints what to fix and exits.\n\n"+
		"When the replication slot is lost (PostgreSQL invalidated it past max_slot_wal_keep_size,\n"+
		"someone dropped it, or it stands past the position capture recorded in Kafka, consumer group\n"+
		"alignsync-capture.<database>.<slot>: re-created, or read by another client), the changes\n"+
		"committed since capture last confirmed can never be read. Capture then refuses to go on:\n"+
		"it sets alignsync_capture_slot_lost{reason} to 1 and exits 1 with an error naming the\n"+
		"recovery: run `alignsync capture --recreate-slot` (it holds the capture lock meanwhile), start\n"+
		"capture again, then run `alignsync resync --since T` with the time the error gives.")
	captureFlags(f, &cfg)
	f.Bool(&check, "check", "ALIGNSYNC_CAPTURE_CHECK", false, "inspect the database, print what to fix, exit 0 when ready and 1 otherwise")
	f.Bool(&recreate, "recreate-slot", "ALIGNSYNC_CAPTURE_RECREATE_SLOT", false,
		"replace a lost replication slot with a new one starting now, print the resync to run, and exit (0 when the slot is usable afterwards); refuses to touch a slot that is not lost")
	f.Duration(&exitDelay, "exit-delay", "ALIGNSYNC_CAPTURE_EXIT_DELAY", time.Minute,
		"after an error capture cannot recover from (a lost slot), how long it keeps serving /metrics and /readyz before exiting, so Prometheus records why")
	f.String(&metricsAddr, "metrics-addr", "ALIGNSYNC_METRICS_ADDR", "127.0.0.1:9101", "listen address of /metrics, /healthz and /readyz")
	f.String(&cpuProfile, "cpu-profile", "ALIGNSYNC_CAPTURE_CPU_PROFILE", "", "write a Go CPU profile of the run to this file (for benchmarks)")
	code := parseFlags(f, args, stdout, stderr, func() {
		f.Require(cfg.DatabaseURL, "database-url")
		if !check && len(cfg.Brokers) == 0 { // --recreate-slot records the new position in Kafka
			f.Require("", "kafka-brokers")
		}
		if check && recreate {
			f.Problem("--check and --recreate-slot: choose one")
		}
		if exitDelay < 0 {
			f.Problem("--exit-delay %s: must not be negative", exitDelay)
		}
		// The required values are reported above; Validate checks the rest.
		probe := cfg
		probe.DatabaseURL, probe.Brokers = "set", []string{"set"}
		if err := probe.Validate(); err != nil {
			f.Problem("%v", err)
		}
	})
	if code >= 0 {
		return code
	}
	if check {
		return runCaptureCheck(ctx, cfg, stdout, stderr)
	}
	logger := f.Logger(stderr)
	if recreate {
		return runRecreateSlot(ctx, cfg, logger, stdout, stderr)
	}
	if cpuProfile != "" {
		stop, err := startCPUProfile(cpuProfile)
		if err != nil {
			logger.Error("capture: starting the CPU profile failed", slog.Any("error", err))
			return 1
		}
		defer stop()
	}
	return runCaptureStream(ctx, cfg, metricsAddr, exitDelay, logger)
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func captureFlags(f *flagSet, cfg *capture.Config) {
	f.String(&cfg.DatabaseURL, "database-url", "DATABASE_URL", "", "PostgreSQL URL of Illumera's database; the role needs REPLICATION")
	f.List(&cfg.Brokers, "kafka-brokers", "KAFKA_BROKERS", nil, "Kafka bootstrap brokers, comma-separated host:port")
	f.String(&cfg.Topic, "topic", "ALIGNSYNC_CAPTURE_TOPIC", cfg.Topic, "topic of the change messages")
	f.String(&cfg.DLQTopic, "dlq-topic", "ALIGNSYNC_CAPTURE_DLQ_TOPIC", cfg.DLQTopic, "topic of changes that cannot be encoded")
	f.String(&cfg.Slot, "slot", "ALIGNSYNC_CAPTURE_SLOT", cfg.Slot, "logical replication slot (created on a first start; a lost one is replaced only by --recreate-slot)")
	f.String(&cfg.Publication, "publication", "ALIGNSYNC_CAPTURE_PUBLICATION", cfg.Publication, "publication (created when absent)")
	f.List(&cfg.Tables, "tables", "ALIGNSYNC_CAPTURE_TABLES", cfg.Tables, "tables to publish, comma-separated")
	f.Duration(&cfg.HeartbeatInterval, "heartbeat-interval", "ALIGNSYNC_CAPTURE_HEARTBEAT_INTERVAL", cfg.HeartbeatInterval, "period of the pg_logical_emit_message heartbeat")
	f.Duration(&cfg.StatusInterval, "status-interval", "ALIGNSYNC_CAPTURE_STATUS_INTERVAL", cfg.StatusInterval, "period of standby status updates (keep under wal_sender_timeout/2)")
	f.Duration(&cfg.SlotPollInterval, "slot-poll-interval", "ALIGNSYNC_CAPTURE_SLOT_POLL_INTERVAL", cfg.SlotPollInterval, "period of the slot lag metrics")
	f.Duration(&cfg.LockPollInterval, "lock-poll-interval", "ALIGNSYNC_CAPTURE_LOCK_POLL_INTERVAL", cfg.LockPollInterval, "how often a standby tries to take over")
	f.Duration(&cfg.ReconnectMax, "reconnect-max", "ALIGNSYNC_CAPTURE_RECONNECT_MAX", cfg.ReconnectMax, "longest delay between reconnection attempts")
	f.Duration(&cfg.ShutdownTimeout, "shutdown-timeout", "ALIGNSYNC_CAPTURE_SHUTDOWN_TIMEOUT", cfg.ShutdownTimeout, "how long a stop waits for Kafka's acknowledgements")
	f.Int(&cfg.MaxInflightBytes, "max-inflight-bytes", "ALIGNSYNC_CAPTURE_MAX_INFLIGHT_BYTES", cfg.MaxInflightBytes, "unacknowledged bytes at which reading pauses")
	f.Int(&cfg.MaxMessageBytes, "max-message-bytes", "ALIGNSYNC_CAPTURE_MAX_MESSAGE_BYTES", cfg.MaxMessageBytes, "larger changes go to the dead-letter topic (match the broker's message.max.bytes)")
	f.Int(&cfg.BatchSize, "batch-size", "ALIGNSYNC_CAPTURE_BATCH_SIZE", cfg.BatchSize, "Kafka writer batch size, in messages")
	f.Duration(&cfg.BatchTimeout, "batch-timeout", "ALIGNSYNC_CAPTURE_BATCH_TIMEOUT", cfg.BatchTimeout, "Kafka writer batch timeout")
}

func runCaptureCheck(ctx context.Context, cfg capture.Config, stdout, stderr io.Writer) int {
	report, err := capture.Check(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "alignsync capture --check: %v\n", err)
		return 1
	}
	if err := report.WriteText(stdout); err != nil || !report.OK() {
		return 1
	}
	return 0
}

func runCaptureStream(ctx context.Context, cfg capture.Config, metricsAddr string, exitDelay time.Duration, logger *slog.Logger) int {
	reg := ops.NewRegistry()
	c, err := capture.New(cfg, logger, reg)
	if err != nil {
		logger.Error("capture: invalid configuration", slog.Any("error", err))
		return 2
	}
	srv, err := ops.Start(metricsAddr, ops.Handler(reg, c.Ready), logger)
	if err != nil {
		logger.Error("capture: serving metrics failed", slog.Any("error", err))
		return 1
	}
	logger.Info("serving metrics", slog.String("addr", srv.Addr))
	runErr := c.Run(ctx)
	if runErr != nil {
		logger.Error("capture stopped", slog.Any("error", runErr))
		if ctx.Err() == nil && exitDelay > 0 {
			logger.Info("serving /metrics and /readyz until exiting", slog.Duration("exit_delay", exitDelay))
			sleepOrDone(ctx, exitDelay)
		}
	}
	if err := srv.Shutdown(); err != nil {
		logger.Warn("capture: metrics shutdown", slog.Any("error", err))
	}
	if runErr != nil {
		return 1
	}
	return 0
}

func sleepOrDone(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// runRecreateSlot replaces a lost slot and tells the operator what to run next.
func runRecreateSlot(ctx context.Context, cfg capture.Config, logger *slog.Logger, stdout, stderr io.Writer) int {
	r, err := capture.RecreateSlot(ctx, cfg, logger)
	if errors.Is(err, capture.ErrSlotUsable) {
		fmt.Fprintf(stdout, "Replication slot %s is not lost: left as it is. Nothing to resync.\n", cfg.Slot)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "alignsync capture --recreate-slot: %v\n", err)
		return 1
	}
	if r.Lost == nil {
		fmt.Fprintf(stdout, "Replication slot %s created at %s (there was none, and no sign of an earlier one). Nothing to resync.\n", r.Slot, r.Position)
		return 0
	}
	since := "<a time before capture last streamed>"
	if t := r.Lost.ResyncSince(); !t.IsZero() {
		since = t.Format(time.RFC3339)
	}
	fmt.Fprintf(stdout, "Replication slot %s recreated at %s. The old one %s.\n\n"+
		"Changes committed before the new slot were not captured. Start capture again, then run:\n\n"+
		"  alignsync resync --since %s\n\n"+
		"to enqueue the current state of every row changed since then (every connected company).\n",
		r.Slot, r.Position, r.Lost.Detail, since)
	return 0
}
