package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/segmentio/kafka-go"
)

// position is capture's own record of the last position it confirmed to its
// slot, and when. The slot cannot tell capture that it was re-created or
// read by someone else; comparing it with this record can.
type position struct {
	LSN pglogrepl.LSN `json:"lsn"`
	At  time.Time     `json:"at"`
}

func (p position) known() bool { return p.LSN != 0 }

// positionStore keeps the record in Kafka, outside the database whose slot it
// checks: as the metadata of an offset committed on partition 0 of the
// change topic by a group no one consumes with (PositionGroup). The offset
// itself is -1, "nothing consumed", so lag tools show nothing for the group.
type positionStore struct {
	client *kafka.Client
	group  string
	topic  string
}

// PositionGroup is the Kafka consumer group under which capture records the
// last position it confirmed to slot on database.
func PositionGroup(database, slot string) string { return "alignsync-capture." + database + "." + slot }

func newPositionStore(cfg Config) (positionStore, error) {
	pc, err := pgconn.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return positionStore{}, &permanentError{fmt.Errorf("parsing database URL: %w", err)}
	}
	client := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: 10 * time.Second,
		Transport: &kafka.Transport{ClientID: "alignsync-capture"}}
	return positionStore{client: client, group: PositionGroup(pc.Database, cfg.Slot), topic: cfg.Topic}, nil
}

func (s positionStore) close() {
	if t, ok := s.client.Transport.(*kafka.Transport); ok {
		t.CloseIdleConnections()
	}
}

// load reads the record; a zero position when there is none.
func (s positionStore) load(ctx context.Context) (position, error) {
	res, err := s.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: s.group, Topics: map[string][]int{s.topic: {0}}})
	if err == nil {
		err = res.Error
	}
	if errors.Is(err, kafka.GroupIdNotFound) { // some brokers answer so for a group that never committed
		return position{}, nil
	}
	if err != nil {
		return position{}, fmt.Errorf("reading capture's recorded position (group %s): %w", s.group, err)
	}
	var p position
	for _, part := range res.Topics[s.topic] {
		if part.Error != nil {
			return position{}, fmt.Errorf("reading capture's recorded position (group %s): %w", s.group, part.Error)
		}
		if part.Metadata == "" {
			continue
		}
		if err := json.Unmarshal([]byte(part.Metadata), &p); err != nil {
			return position{}, fmt.Errorf("decoding capture's recorded position %q (group %s): %w", part.Metadata, s.group, err)
		}
	}
	return p, nil
}

func (s positionStore) save(ctx context.Context, p position) error {
	meta, _ := json.Marshal(p)
	res, err := s.client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: s.group, GenerationID: -1,
		Topics: map[string][]kafka.OffsetCommit{s.topic: {{Partition: 0, Offset: -1, Metadata: string(meta)}}}})
	if err != nil {
		return fmt.Errorf("recording capture's position %s (group %s): %w", p.LSN, s.group, err)
	}
	var errs []error
	for _, parts := range res.Topics {
		for _, part := range parts {
			if part.Error != nil {
				errs = append(errs, part.Error)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("recording capture's position %s (group %s): %w", p.LSN, s.group, err)
	}
	return nil
}

// recordTimeout bounds how long a standby status waits for Kafka to record
// the position it is about to confirm.
const recordTimeout = 5 * time.Second

// confirmable records lsn in Kafka when it is past the record and returns the
// highest position that may be confirmed to PostgreSQL now: lsn once
// recorded, the earlier record while Kafka refuses. Recording first is what
// makes a slot standing past the record a slot capture did not move.
func (c *Capture) confirmable(lsn pglogrepl.LSN) pglogrepl.LSN {
	if lsn <= c.recorded.LSN {
		return lsn
	}
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	p := position{LSN: lsn, At: time.Now().UTC()}
	if err := c.positions.save(ctx, p); err != nil {
		if !c.recordFailing {
			c.recordFailing = true
			c.logger.Warn("recording the confirmed position in Kafka failed; confirming no further until it succeeds",
				slog.Any("error", err))
		}
		return c.recorded.LSN
	}
	if c.recordFailing {
		c.recordFailing = false
		c.logger.Info("recording the confirmed position in Kafka recovered")
	}
	c.recorded = p
	return lsn
}
