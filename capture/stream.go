package capture

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// listen is the replication loop: receive a message, handle it, send the
// standby status when due. It returns nil when ctx ends, an error when the
// session must restart.
func (s *session) listen(ctx context.Context) error {
	for {
		select {
		case <-s.acks.failure():
			return s.acks.failErr()
		default:
		}
		if err := s.waitForRoom(ctx); err != nil || ctx.Err() != nil {
			return err
		}
		if !time.Now().Before(s.nextStatus) {
			if err := s.sendStandbyStatus(false); err != nil {
				return err
			}
		}
		msg, err := s.receive(ctx)
		if err != nil || msg == nil {
			return err
		}
		if err := s.handle(ctx, msg); err != nil {
			return err
		}
		if err := s.maybeFlush(ctx); err != nil {
			return err
		}
	}
}

// flushLinger is how long queued messages may wait for more before they are
// handed to the Kafka writer, which lingers BatchTimeout on top.
const flushLinger = time.Millisecond

// maybeFlush hands the queued messages to Kafka when the queue is full, or
// once they have waited flushLinger with nothing more received: a backlog
// goes out in large batches, a trickle within a millisecond, and a reader
// that keeps up does not pay a Writer call per message.
func (s *session) maybeFlush(ctx context.Context) error {
	switch {
	case s.prod.full():
	case !s.prod.hasPending() || s.buffered() > 0:
		return nil
	case s.flushDue.IsZero():
		s.flushDue = time.Now().Add(flushLinger)
		return nil
	case time.Now().Before(s.flushDue):
		return nil
	}
	return s.flush(ctx)
}

func (s *session) flush(ctx context.Context) error {
	s.flushDue = time.Time{}
	return s.prod.flush(ctx)
}

// receive waits for the next message, flushing queued messages and sending
// the standby status whenever they fall due in the meantime. It returns
// (nil, nil) when ctx ends.
func (s *session) receive(ctx context.Context) (pgproto3.BackendMessage, error) {
	for {
		deadline := s.nextStatus
		if !s.flushDue.IsZero() && s.flushDue.Before(deadline) {
			deadline = s.flushDue
		}
		if !s.readDeadline.Equal(deadline) {
			s.readDeadline = deadline
			if err := s.conn.Conn().SetReadDeadline(deadline); err != nil {
				return nil, fmt.Errorf("setting read deadline: %w", err)
			}
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		msg, err := s.conn.ReceiveMessage(context.Background())
		switch {
		case err == nil:
			return msg, nil
		case ctx.Err() != nil:
			return nil, nil
		case !pgconn.Timeout(err):
			return nil, fmt.Errorf("receiving replication message: %w", err)
		}
		if err := s.onTimeout(ctx); err != nil {
			return nil, err
		}
	}
}

// onTimeout does what the read deadline woke the loop for. The flush is
// unconditional: part of a message may be buffered, and waiting for it with
// a deadline already past would spin.
func (s *session) onTimeout(ctx context.Context) error {
	if !s.flushDue.IsZero() && !time.Now().Before(s.flushDue) {
		if err := s.flush(ctx); err != nil {
			return err
		}
	}
	if time.Now().Before(s.nextStatus) {
		return nil
	}
	return s.sendStandbyStatus(false)
}

func (s *session) handle(ctx context.Context, msg pgproto3.BackendMessage) error {
	switch m := msg.(type) {
	case *pgproto3.CopyData:
		if len(m.Data) == 0 {
			return errors.New("receiving replication message: empty CopyData")
		}
		switch m.Data[0] {
		case pglogrepl.PrimaryKeepaliveMessageByteID:
			return s.handleKeepalive(m.Data[1:])
		case pglogrepl.XLogDataByteID:
			return s.handleXLogData(ctx, m.Data[1:])
		}
		return fmt.Errorf("receiving replication message: unknown CopyData type %q", m.Data[0])
	case *pgproto3.ErrorResponse:
		return fmt.Errorf("replication stream: %w", pgconn.ErrorResponseToPgError(m))
	case *pgproto3.CopyDone:
		return errors.New("replication stream: the server ended it")
	}
	return nil
}

func (s *session) handleKeepalive(data []byte) error {
	pkm, err := pglogrepl.ParsePrimaryKeepaliveMessage(data)
	if err != nil {
		return fmt.Errorf("parsing keepalive: %w", err)
	}
	if pkm.ReplyRequested {
		return s.sendStandbyStatus(false)
	}
	return nil
}

func (s *session) handleXLogData(ctx context.Context, data []byte) error {
	xld, err := pglogrepl.ParseXLogData(data)
	if err != nil {
		return fmt.Errorf("parsing XLogData: %w", err)
	}
	if xld.WALStart > s.received {
		s.received = xld.WALStart
	}
	return s.dec.handle(ctx, xld.WALStart, xld.WALData)
}

// sendStandbyStatus reports the positions with all three set explicitly:
// flush and apply are what Kafka has acknowledged and capture has recorded,
// write what was received. (pglogrepl copies write into zero fields, which
// would confirm on receipt.)
func (s *session) sendStandbyStatus(reply bool) error {
	flushed := s.acks.flushedLSN()
	if s.confirmable != nil {
		flushed = s.confirmable(flushed)
	}
	write := max(s.received, flushed)
	if flushed == 0 {
		write = 0 // nothing known to be safe: confirm nothing
	}
	err := pglogrepl.SendStandbyStatusUpdate(context.Background(), s.conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: write,
		WALFlushPosition: flushed,
		WALApplyPosition: flushed,
		ClientTime:       time.Now(),
		ReplyRequested:   reply,
	})
	if err != nil {
		return fmt.Errorf("sending standby status: %w", err)
	}
	s.metrics.ConfirmedLSN.Set(float64(flushed))
	s.nextStatus = time.Now().Add(s.statusInterval)
	return nil
}

// waitForRoom stops reading while the in-flight bytes are over budget,
// still sending the standby status on time.
func (s *session) waitForRoom(ctx context.Context) error {
	for s.prod.overBudget() {
		if err := s.flush(ctx); err != nil {
			return err
		}
		timer := time.NewTimer(time.Until(s.nextStatus))
		select {
		case <-s.prod.freed:
		case <-timer.C:
			if err := s.sendStandbyStatus(false); err != nil {
				return err
			}
		case <-s.acks.failure():
			timer.Stop()
			return s.acks.failErr()
		case <-ctx.Done():
		}
		timer.Stop()
		if ctx.Err() != nil {
			return nil
		}
	}
	return nil
}
