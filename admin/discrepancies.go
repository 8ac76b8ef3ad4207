package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/illumera/alignsync/reconcile"
)

// discrepancyItem is one difference reconciliation found in a project's
// field: open until a run finds it clean, then kept as resolved history.
type discrepancyItem struct {
	ID             int64      `json:"id"`
	RunID          string     `json:"runId"` // the run that found it first
	ProjectID      *string    `json:"projectId"`
	Field          string     `json:"field"`
	IllumeraValue  int64      `json:"illumeraValue"`
	AlignValue     int64      `json:"alignValue"`
	Status         string     `json:"status"`     // open or resolved
	DetectedAt     time.Time  `json:"detectedAt"` // first found
	LastDetectedAt time.Time  `json:"lastDetectedAt"`
	ResolvedAt     *time.Time `json:"resolvedAt"`
}

// discrepancyFields are the values a discrepancy's field takes.
var discrepancyFields = []string{reconcile.FieldApprovedMinutes, reconcile.FieldApprovedCostCents}

// Discrepancy states a listing shows; open is the default.
const (
	stateOpen     = "open"
	stateResolved = "resolved"
	stateAll      = "all"
)

var discrepancyStates = []string{stateOpen, stateResolved, stateAll}

// discrepancyFilter narrows a discrepancy listing.
type discrepancyFilter struct {
	state string // open (also when empty), resolved or all
	field string // empty: every field
}

// listDiscrepancies answers GET .../reconciliation-discrepancies
// ?status=open|resolved|all&field=...; open ones by default.
func (s *Server) listDiscrepancies(w http.ResponseWriter, r *http.Request) {
	field := r.URL.Query().Get("field")
	if field != "" && !slices.Contains(discrepancyFields, field) {
		writeError(w, http.StatusBadRequest, "validation_error", fmt.Sprintf("field must be one of %v", discrepancyFields))
		return
	}
	listing(s, w, r, discrepancyStates, func(ctx context.Context, company string, q pageQuery) (page[discrepancyItem], error) {
		return s.discrepanciesPage(ctx, company, q, discrepancyFilter{state: q.status, field: field})
	})
}

// discrepanciesPage is one page of the company's reconciliation
// discrepancies in f, most recently found first.
func (s *Server) discrepanciesPage(ctx context.Context, company string, q pageQuery, f discrepancyFilter) (page[discrepancyItem], error) {
	if f.state == "" {
		f.state = stateOpen
	}
	const where = `company_id = $1 AND ($2 = '' OR field = $2)
		AND ($3 = 'all' OR (resolved_at IS NULL) = ($3 = 'open'))`
	return listPage(ctx, q,
		func(ctx context.Context) (int64, error) {
			return s.count(ctx, `SELECT count(*) FROM align_sync.reconciliation_discrepancies WHERE `+where,
				company, f.field, f.state)
		},
		func(ctx context.Context) ([]discrepancyItem, error) {
			rows, err := s.pool.Query(ctx, `
				SELECT id, run_id::text, project_id::text, field, illumera_value, align_value,
				       detected_at, last_detected_at, resolved_at
				  FROM align_sync.reconciliation_discrepancies
				 WHERE `+where+`
				 ORDER BY coalesce(resolved_at, last_detected_at) DESC, id DESC LIMIT $4 OFFSET $5`,
				company, f.field, f.state, q.size, q.offset())
			if err != nil {
				return nil, fmt.Errorf("listing reconciliation discrepancies: %w", err)
			}
			return pgx.CollectRows(rows, func(row pgx.CollectableRow) (discrepancyItem, error) {
				var it discrepancyItem
				err := row.Scan(&it.ID, &it.RunID, &it.ProjectID, &it.Field, &it.IllumeraValue,
					&it.AlignValue, &it.DetectedAt, &it.LastDetectedAt, &it.ResolvedAt)
				it.Status = stateOpen
				if it.ResolvedAt != nil {
					it.Status = stateResolved
				}
				return it, err
			})
		})
}

// stateParam is the sync page's parameter choosing which discrepancies show.
const stateParam = "discrepancies_state"

// stateLink is one choice of the discrepancies shown on the sync page.
type stateLink struct {
	Label, URL string
	Current    bool
}

// discrepancyState reads the sync page's state parameter (open by default).
func discrepancyState(q url.Values) (string, error) {
	s := q.Get(stateParam)
	if s == "" {
		return stateOpen, nil
	}
	if !slices.Contains(discrepancyStates, s) {
		return "", badRequest(fmt.Sprintf("%s must be one of %s", stateParam, strings.Join(discrepancyStates, ", ")))
	}
	return s, nil
}

// discrepancyTitle names the table after the state it shows.
func discrepancyTitle(state string) string {
	switch state {
	case stateOpen:
		return "Open reconciliation discrepancies"
	case stateResolved:
		return "Resolved reconciliation discrepancies"
	}
	return "Reconciliation discrepancies"
}

// stateLinks are the page's links to each state, keeping the other tables'
// state and starting the discrepancies at their first page.
func stateLinks(state url.Values, current string) []stateLink {
	var out []stateLink
	for _, s := range discrepancyStates {
		u := url.Values{}
		for k, vs := range state {
			if k != stateParam && k != "discrepancies_page" {
				u[k] = vs
			}
		}
		if s != stateOpen {
			u.Set(stateParam, s)
		}
		out = append(out, stateLink{Label: strings.ToUpper(s[:1]) + s[1:], URL: "/admin/align-sync?" + u.Encode(), Current: s == current})
	}
	return out
}
