package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"
)

// rowQuerier is a pool or a connection.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func readSlot(ctx context.Context, q rowQuerier, slot string) (slotState, error) {
	s := slotState{exists: true}
	var confirmed string
	err := q.QueryRow(ctx, `SELECT coalesce(plugin, ''), coalesce(database::text, ''), coalesce(wal_status, ''),
			coalesce(confirmed_flush_lsn::text, '0/0'), active
		FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&s.plugin, &s.database, &s.walStatus, &confirmed, &s.active)
	if errors.Is(err, pgx.ErrNoRows) {
		return slotState{}, nil
	}
	if err != nil {
		return slotState{}, fmt.Errorf("reading replication slot %s: %w", slot, err)
	}
	if s.confirmed, err = pglogrepl.ParseLSN(confirmed); err != nil {
		return slotState{}, fmt.Errorf("parsing confirmed_flush_lsn %q of slot %s: %w", confirmed, slot, err)
	}
	return s, nil
}

// prepareSlot is setup's last step: it creates the pgoutput slot on a first
// start, refuses a slot of the same name that is not a pgoutput slot of this
// database, and refuses a slot that lost changes capture has not read.
func (c *Capture) prepareSlot(ctx context.Context, q rowQuerier) error {
	s, err := readSlot(ctx, q, c.cfg.Slot)
	if err != nil {
		return err
	}
	if err := c.checkLoss(ctx, s); err != nil {
		return err
	}
	if !s.exists {
		_, err := createSlot(ctx, q, c.cfg.Slot, c.logger)
		return err
	}
	var current string
	if err := q.QueryRow(ctx, `SELECT current_database()::text`).Scan(&current); err != nil {
		return fmt.Errorf("reading the current database: %w", err)
	}
	if s.plugin != "pgoutput" || s.database != current {
		return &permanentError{fmt.Errorf("replication slot %s exists with plugin %q on database %q; capture needs a pgoutput slot on %q",
			c.cfg.Slot, s.plugin, s.database, current)}
	}
	return nil
}

// checkLoss returns a *SlotLostError when s cannot give capture every change
// after its recorded position. Whether the topic holds earlier changes is
// asked only when it decides: for a missing slot capture has no record of.
func (c *Capture) checkLoss(ctx context.Context, s slotState) error {
	history := false
	if !s.exists && !c.recorded.known() {
		var err error
		if history, err = topicHasHistory(ctx, c.positions.client, c.cfg.Topic); err != nil {
			return err
		}
	}
	if lost := diagnose(c.cfg.Slot, s, c.recorded, history); lost != nil {
		return lost
	}
	return nil
}

// slotStart is where a session starts: the slot's confirmed position, once
// the slot is known to hold every change capture has not confirmed.
func (c *Capture) slotStart(ctx context.Context, q rowQuerier) (pglogrepl.LSN, error) {
	s, err := readSlot(ctx, q, c.cfg.Slot)
	if err != nil {
		return 0, err
	}
	if !s.exists { // setup saw or made it: whatever the record says, it was dropped since
		return 0, diagnose(c.cfg.Slot, s, c.recorded, true)
	}
	if err := c.checkLoss(ctx, s); err != nil {
		return 0, err
	}
	if s.confirmed < c.recorded.LSN {
		c.logger.Info("the slot stands before the position capture recorded (PostgreSQL restarted?): the changes in between are sent again",
			slog.String("slot_lsn", s.confirmed.String()), slog.String("recorded_lsn", c.recorded.LSN.String()))
	}
	return s.confirmed, nil
}

// createSlot creates the pgoutput slot and returns its confirmed position.
func createSlot(ctx context.Context, q rowQuerier, slot string, logger *slog.Logger) (pglogrepl.LSN, error) {
	var lsn string
	if err := q.QueryRow(ctx, `SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')`, slot).Scan(&lsn); err != nil {
		return 0, fmt.Errorf("creating replication slot %s: %w", slot, classify(err))
	}
	logger.Info("replication slot created", slog.String("slot", slot), slog.String("lsn", lsn))
	return pglogrepl.ParseLSN(lsn)
}

// topicHasHistory reports whether any partition of topic ever held a message
// (an end offset past 0 survives retention): a missing slot is then a lost
// one, not a first start. It covers deployments whose record in Kafka is
// missing (it predates the record, or expired with the group's offsets).
func topicHasHistory(ctx context.Context, client *kafka.Client, topic string) (bool, error) {
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return false, fmt.Errorf("reading the partitions of %s: %w", topic, err)
	}
	var req []kafka.OffsetRequest
	for _, t := range meta.Topics {
		if t.Error != nil {
			return false, fmt.Errorf("reading the partitions of %s: %w", topic, t.Error)
		}
		for _, p := range t.Partitions {
			req = append(req, kafka.LastOffsetOf(p.ID))
		}
	}
	res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: req}})
	if err != nil {
		return false, fmt.Errorf("reading the end offsets of %s: %w", topic, err)
	}
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			return false, fmt.Errorf("reading the end offset of %s/%d: %w", topic, p.Partition, p.Error)
		}
		if p.LastOffset > 0 {
			return true, nil
		}
	}
	return false, nil
}
