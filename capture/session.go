package capture

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
)

// session is one replication connection, from START_REPLICATION to its end.
// Everything but the Kafka completions runs on the goroutine calling stream.
type session struct {
	conn           *pgconn.PgConn
	dec            *decoder
	prod           *producer
	acks           *tracker
	metrics        *Metrics
	logger         *slog.Logger
	statusInterval time.Duration
	confirmable    func(pglogrepl.LSN) pglogrepl.LSN // records a position before it is confirmed

	buffered     func() int // bytes received and not yet handled
	received     pglogrepl.LSN
	nextStatus   time.Time
	flushDue     time.Time // when queued messages go to the writer; zero when none wait
	readDeadline time.Time
}

var _ sink = (*session)(nil)

// stream runs one session: it starts from the slot's confirmed position and
// returns nil when ctx ends, or the error that ended the session.
func (c *Capture) stream(ctx context.Context, pool *pgxpool.Pool) error {
	start, err := c.slotStart(ctx, pool)
	if err != nil {
		return err
	}
	if err := probeKafka(ctx, c.cfg); err != nil {
		return err
	}
	conn, db, buffered, err := connectReplication(ctx, c.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	s := c.newSession(conn, db, start, pool)
	s.buffered = buffered
	if err := pglogrepl.StartReplication(ctx, conn, c.cfg.Slot, 0, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", "publication_names '" + c.cfg.Publication + "'", "messages 'true'"},
	}); err != nil {
		s.prod.abort(err)
		return fmt.Errorf("starting replication from slot %s: %w", c.cfg.Slot, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Conn().SetReadDeadline(time.Now()) })
	defer stop()
	c.setState(stateStreaming, nil)
	err = s.listen(ctx)
	s.finish(err)
	return err
}

func (c *Capture) newSession(conn *pgconn.PgConn, db string, start pglogrepl.LSN, pool *pgxpool.Pool) *session {
	acks := newTracker(start, c.acked)
	s := &session{
		conn:           conn,
		acks:           acks,
		prod:           newProducer(c.cfg, acks, c.metrics),
		metrics:        c.metrics,
		logger:         c.logger,
		statusInterval: c.cfg.StatusInterval,
		confirmable:    c.confirmable,
		received:       start,
		nextStatus:     time.Now().Add(c.cfg.StatusInterval),
	}
	s.dec = &decoder{
		topic: c.cfg.Topic, dlqTopic: c.cfg.DLQTopic, maxMessageBytes: c.cfg.MaxMessageBytes,
		rels:    newRelations(db, primaryKeyLookup(pool), c.metrics),
		out:     s,
		metrics: c.metrics,
		now:     time.Now,
	}
	return s
}

// finish ends a session. After a clean stop it waits for Kafka to
// acknowledge what was produced and confirms it; after a failure it drops
// what is queued and confirms only what was acknowledged before.
func (s *session) finish(cause error) {
	if cause == nil {
		if err := s.flush(context.Background()); err != nil {
			s.prod.abort(err)
		} else {
			s.prod.close()
		}
	} else {
		s.prod.abort(cause)
	}
	s.acks.advance()
	if err := s.sendStandbyStatus(false); err != nil && cause == nil {
		s.logger.Warn("final standby status not sent", slog.Any("error", err))
	}
}

func (s *session) begin(t *txn) { s.acks.push(t) }

func (s *session) change(_ *txn, m kafka.Message) { s.prod.add(m) }

func (s *session) commit(t *txn) error {
	t.committed.Store(true)
	s.acks.advance()
	return nil
}

func (s *session) position(lsn pglogrepl.LSN) {
	t := &txn{endLSN: lsn, heartbeat: true}
	t.committed.Store(true)
	s.acks.push(t)
	s.acks.advance()
}

// replicationReadBuffer lets one read system call bring in many pgoutput
// messages when a backlog is streaming.
const replicationReadBuffer = 256 << 10

// connectReplication opens a logical replication connection with the
// session settings pgjson relies on for value formats. buffered reports how
// many received bytes are not yet decoded.
func connectReplication(ctx context.Context, url string) (conn *pgconn.PgConn, db string, buffered func() int, err error) {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return nil, "", nil, fmt.Errorf("parsing database URL: %w", err)
	}
	var br *bufio.Reader
	cfg.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		br = bufio.NewReaderSize(r, replicationReadBuffer)
		return pgproto3.NewFrontend(br, w)
	}
	for k, v := range map[string]string{
		"replication": "database", "application_name": "alignsync-capture",
		"DateStyle": "ISO, YMD", "TimeZone": "UTC", "IntervalStyle": "iso_8601",
	} {
		cfg.RuntimeParams[k] = v
	}
	if conn, err = pgconn.ConnectConfig(ctx, cfg); err != nil {
		return nil, "", nil, fmt.Errorf("opening replication connection: %w", err)
	}
	return conn, cfg.Database, func() int { return br.Buffered() + conn.Frontend().ReadBufferLen() }, nil
}

func primaryKeyLookup(pool *pgxpool.Pool) primaryKeyFunc {
	return func(ctx context.Context, relid uint32) ([]string, error) {
		rows, err := pool.Query(ctx, `SELECT a.attname FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
			WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY a.attnum`, relid)
		if err != nil {
			return nil, err
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return nil, err
			}
			names = append(names, n)
		}
		return names, rows.Err()
	}
}

// probeKafka checks that the topics are reachable before reading anything:
// while Kafka is down capture does not read, so the slot keeps the WAL.
func probeKafka(ctx context.Context, cfg Config) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: 10 * time.Second}
	res, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{cfg.Topic, cfg.DLQTopic}})
	if err != nil {
		return fmt.Errorf("reaching Kafka at %v: %w", cfg.Brokers, err)
	}
	var errs []error
	for _, t := range res.Topics {
		if t.Error != nil {
			errs = append(errs, fmt.Errorf("topic %s: %w", t.Name, t.Error))
		}
	}
	return errors.Join(errs...)
}
