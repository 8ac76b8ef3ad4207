package admin

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/illumera/alignsync/ingest"
	"github.com/illumera/alignsync/pipeline/ledger"
)

// Page sizes of the listings.
const (
	defaultPageSize = 50
	maxPageSize     = 100
)

// page is one page of a listing, newest first.
type page[T any] struct {
	Data     []T   `json:"data"`
	Page     int   `json:"page"`
	PageSize int   `json:"pageSize"`
	Total    int64 `json:"total"`
}

type pageQuery struct {
	page, size int
	status     string
}

// parsePage reads page (1-based), pageSize (1–100) and, when statuses is not
// nil, a status filter among them.
func parsePage(r *http.Request, statuses []string) (pageQuery, error) {
	q := pageQuery{page: 1, size: defaultPageSize}
	v := r.URL.Query()
	if s := v.Get("pageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			return q, fmt.Errorf("pageSize %q: must be between 1 and %d", s, maxPageSize)
		}
		q.size = n
	}
	if s := v.Get("page"); s != "" {
		n, err := pageNumber("page", s, q.size)
		if err != nil {
			return q, err
		}
		q.page = n
	}
	if s := v.Get("status"); s != "" {
		if !slices.Contains(statuses, s) {
			return q, fmt.Errorf("status %q: must be one of %s", s, strings.Join(statuses, ", "))
		}
		q.status = s
	}
	return q, nil
}

// pageNumber reads the 1-based page number raw of the parameter param, for
// pages of size rows. The page's offset must fit PostgreSQL's OFFSET (int64):
// a larger page is refused here rather than overflowing into a negative
// offset and a failed query.
func pageNumber(param, raw string, size int) (int, error) {
	last := math.MaxInt64/int64(size) + 1
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 1 || n > last {
		return 0, fmt.Errorf("%s %q: must be a whole number from 1 to %d (with %d rows a page)", param, raw, last, size)
	}
	return int(n), nil
}

func (q pageQuery) offset() int { return (q.page - 1) * q.size }

// listing answers one page of a company's listing; the admin pages read the
// same pages through the same functions.
func listing[T any](s *Server, w http.ResponseWriter, r *http.Request, statuses []string,
	list func(ctx context.Context, company string, q pageQuery) (page[T], error),
) {
	q, err := parsePage(r, statuses)
	if err != nil {
		writeError(w, http.StatusBadRequest, "validation_error", err.Error())
		return
	}
	p, err := list(r.Context(), CompanyFrom(r.Context()), q)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// listPage runs a count and a page query; a page past the end has no rows.
func listPage[T any](ctx context.Context, q pageQuery,
	count func(ctx context.Context) (int64, error),
	rows func(ctx context.Context) ([]T, error),
) (page[T], error) {
	total, err := count(ctx)
	if err != nil {
		return page[T]{}, err
	}
	data, err := rows(ctx)
	if err != nil {
		return page[T]{}, err
	}
	if data == nil {
		data = []T{}
	}
	return page[T]{Data: data, Page: q.page, PageSize: q.size, Total: total}, nil
}

// outboxItem is one operation of the ledger.
type outboxItem = ledger.Item

var outboxStatuses = func() []string {
	out := make([]string, len(ledger.Statuses))
	for i, st := range ledger.Statuses {
		out[i] = string(st)
	}
	return out
}()

func (s *Server) listOutbox(w http.ResponseWriter, r *http.Request) {
	listing(s, w, r, outboxStatuses, s.outboxPage)
}

// outboxPage is one page of the company's operations, newest first.
func (s *Server) outboxPage(ctx context.Context, company string, q pageQuery) (page[outboxItem], error) {
	items, total, err := ledger.List(ctx, s.pool, company, ledger.Status(q.status), q.size, q.offset())
	if err != nil {
		return page[outboxItem]{}, err
	}
	if items == nil {
		items = []outboxItem{}
	}
	return page[outboxItem]{Data: items, Page: q.page, PageSize: q.size, Total: total}, nil
}

// deliveryItem is one webhook delivery received from Align.
type deliveryItem struct {
	ID          int64      `json:"id"`
	DeliveryID  string     `json:"deliveryId"`
	EventName   string     `json:"eventName"`
	Status      string     `json:"status"`
	ReceivedAt  time.Time  `json:"receivedAt"`
	ProcessedAt *time.Time `json:"processedAt"`
	Error       *string    `json:"error"`
	Note        *string    `json:"note"`
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	listing(s, w, r, ingest.DeliveryStatuses, s.deliveriesPage)
}

// deliveriesPage is one page of the company's webhook deliveries, newest first.
func (s *Server) deliveriesPage(ctx context.Context, company string, q pageQuery) (page[deliveryItem], error) {
	return listPage(ctx, q,
		func(ctx context.Context) (int64, error) {
			return s.count(ctx, `SELECT count(*) FROM align_sync.webhook_deliveries
				WHERE company_id = $1 AND ($2 = '' OR status = $2)`, company, q.status)
		},
		func(ctx context.Context) ([]deliveryItem, error) {
			rows, err := s.pool.Query(ctx, `
				SELECT id, delivery_id, event_name, status, received_at, processed_at, error, note
				  FROM align_sync.webhook_deliveries
				 WHERE company_id = $1 AND ($2 = '' OR status = $2)
				 ORDER BY id DESC LIMIT $3 OFFSET $4`, company, q.status, q.size, q.offset())
			if err != nil {
				return nil, fmt.Errorf("listing webhook deliveries: %w", err)
			}
			return pgx.CollectRows(rows, func(row pgx.CollectableRow) (deliveryItem, error) {
				var it deliveryItem
				err := row.Scan(&it.ID, &it.DeliveryID, &it.EventName, &it.Status, &it.ReceivedAt,
					&it.ProcessedAt, &it.Error, &it.Note)
				return it, err
			})
		})
}

func (s *Server) count(ctx context.Context, sql string, args ...any) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting: %w", err)
	}
	return n, nil
}

// retryOutbox resets the company's failed operations to pending.
func (s *Server) retryOutbox(w http.ResponseWriter, r *http.Request) {
	n, err := ledger.RetryFailed(r.Context(), s.pool, CompanyFrom(r.Context()))
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.audit(r, "outbox retry-failed", slog.Int64("reset", n))
	writeJSON(w, http.StatusOK, map[string]int64{"reset": n})
}

// retryDeliveries processes the company's failed webhook deliveries again.
func (s *Server) retryDeliveries(w http.ResponseWriter, r *http.Request) {
	res, err := s.deliveries.RetryFailed(r.Context(), CompanyFrom(r.Context()))
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.audit(r, "webhook-deliveries retry-failed", slog.Int("retried", res.Retried))
	writeJSON(w, http.StatusOK, res)
}
