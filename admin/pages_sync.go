package admin

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/illumera/alignsync/ingest"
	"github.com/illumera/alignsync/pipeline/ledger"
)

// pageRows is how many rows each table of the sync page shows at once.
const pageRows = 20

// maxPickerCompanies bounds the company picker; a platform admin reaches any
// other company with ?company=.
const maxPickerCompanies = 1000

// flashCookie carries the outcome of a Retry Failed across its redirect.
const flashCookie = "alignsync_admin_flash"

// syncView is Admin → Align Sync.
type syncView struct {
	chrome
	Picker    bool // a platform admin chooses the company
	Companies []companyOption
	Notice    string

	Outbox          tableView
	OutboxRows      []outboxItem
	Deliveries      tableView
	DeliveryRows    []deliveryItem
	Discrepancies   tableView
	DiscrepancyRows []discrepancyItem
	// DiscrepancyState is open, resolved or all; StateLinks switch it.
	DiscrepancyState string
	StateLinks       []stateLink
}

type companyOption struct {
	companyRef
	Selected bool
}

// tableView is the state of one paginated, filtered table.
type tableView struct {
	ID          string // the table's id and the prefix of its parameters
	Name        string
	Caption     string
	FilterParam string
	FilterLabel string
	Filter      string
	Options     []string
	Hidden      []hiddenField // the other tables' state, kept by the filter form
	Page, Pages int
	Total       int64
	PrevURL     string
	NextURL     string
}

type hiddenField struct{ Name, Value string }

// syncTables names each table's filter parameter and its values.
var syncTables = []struct {
	id, filterParam, filterLabel string
	options                      []string
}{
	{"outbox", "outbox_status", "Status", outboxStatuses},
	{"deliveries", "deliveries_status", "Status", ingest.DeliveryStatuses},
	{"discrepancies", "discrepancies_field", "Field", discrepancyFields},
}

// syncStatus shows a company's outbox, webhook deliveries and discrepancies.
func (p *pages) syncStatus(w http.ResponseWriter, r *http.Request) {
	ses, err := p.authenticate(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	requested := q.Get("company")
	if requested == "" && !isPlatformAdmin(ses.Principal) {
		requested = ses.CompanyID // a company admin sees their own
	}
	v := syncView{chrome: p.chrome(ses, "Align Sync", "sync", nil), Picker: isPlatformAdmin(ses.Principal)}
	company := ""
	if requested != "" {
		if company, err = authorizeCompany(ses.Principal, requested); err != nil {
			p.fail(w, r, err)
			return
		}
	} else if !v.Picker {
		p.fail(w, r, errForbidden) // a token without a company or a platform role
		return
	}
	if v.Picker {
		if v.Companies, err = p.pickerCompanies(r.Context(), company); err != nil {
			p.fail(w, r, err)
			return
		}
	}
	if company == "" {
		p.render(w, r, http.StatusOK, "sync.html", v)
		return
	}
	if err := p.fillSync(r.Context(), &v, company, q); err != nil {
		p.fail(w, r, err)
		return
	}
	v.Notice = p.takeFlash(w, r, company)
	p.render(w, r, http.StatusOK, "sync.html", v)
}

func (p *pages) fillSync(ctx context.Context, v *syncView, company string, q url.Values) error {
	ref, err := p.companyRef(ctx, company)
	if err != nil {
		return err
	}
	v.Company = ref
	v.Title = "Align Sync — " + ref.Label()
	queries := make([]pageQuery, len(syncTables))
	for i, t := range syncTables {
		if queries[i], err = tableQuery(q, t.id, t.filterParam, t.options); err != nil {
			return err
		}
	}
	if v.DiscrepancyState, err = discrepancyState(q); err != nil {
		return err
	}
	outbox, err := p.s.outboxPage(ctx, company, queries[0])
	if err != nil {
		return err
	}
	deliveries, err := p.s.deliveriesPage(ctx, company, queries[1])
	if err != nil {
		return err
	}
	discrepancies, err := p.s.discrepanciesPage(ctx, company, queries[2],
		discrepancyFilter{state: v.DiscrepancyState, field: queries[2].status})
	if err != nil {
		return err
	}
	state := syncState(company, q)
	v.Outbox = newTableView(0, state, queries[0], outbox.Total, "Outbox queue")
	v.OutboxRows = outbox.Data
	v.Deliveries = newTableView(1, state, queries[1], deliveries.Total, "Webhook deliveries")
	v.DeliveryRows = deliveries.Data
	v.Discrepancies = newTableView(2, state, queries[2], discrepancies.Total, discrepancyTitle(v.DiscrepancyState))
	v.DiscrepancyRows = discrepancies.Data
	v.StateLinks = stateLinks(state, v.DiscrepancyState)
	return nil
}

// tableQuery reads one table's page (<id>_page) and filter.
func tableQuery(q url.Values, id, filterParam string, options []string) (pageQuery, error) {
	pq := pageQuery{page: 1, size: pageRows}
	if s := q.Get(id + "_page"); s != "" {
		n, err := pageNumber(id+"_page", s, pq.size)
		if err != nil {
			return pq, badRequest(err.Error())
		}
		pq.page = n
	}
	if s := q.Get(filterParam); s != "" {
		if !slices.Contains(options, s) {
			return pq, badRequest(fmt.Sprintf("%s must be one of %s", filterParam, strings.Join(options, ", ")))
		}
		pq.status = s
	}
	return pq, nil
}

// syncState is the page's parameters that are kept from link to link.
func syncState(company string, q url.Values) url.Values {
	state := url.Values{"company": {company}}
	for _, t := range syncTables {
		for _, k := range []string{t.filterParam, t.id + "_page"} {
			if v := q.Get(k); v != "" {
				state.Set(k, v)
			}
		}
	}
	if v := q.Get(stateParam); v != "" {
		state.Set(stateParam, v)
	}
	return state
}

func newTableView(i int, state url.Values, q pageQuery, total int64, name string) tableView {
	t := syncTables[i]
	v := tableView{ID: t.id, Name: name, FilterParam: t.filterParam, FilterLabel: t.filterLabel, Filter: q.status,
		Options: t.options, Page: q.page, Total: total, Pages: max(1, int((total+int64(q.size)-1)/int64(q.size)))}
	v.Caption = fmt.Sprintf("%s: %d %s", name, total, plural(total, "item", "items"))
	if q.status != "" {
		v.Caption += fmt.Sprintf(" (%s %s)", strings.ToLower(t.filterLabel), q.status)
	}
	v.Caption += fmt.Sprintf(", page %d of %d", v.Page, v.Pages)
	link := func(page int) string {
		u := url.Values{}
		for k, vs := range state {
			u[k] = vs
		}
		u.Set(t.id+"_page", strconv.Itoa(page))
		return "/admin/align-sync?" + u.Encode()
	}
	if v.Page > 1 {
		v.PrevURL = link(min(v.Page-1, v.Pages))
	}
	if v.Page < v.Pages {
		v.NextURL = link(v.Page + 1)
	}
	for _, k := range sortedKeys(state) {
		if k != t.filterParam && k != t.id+"_page" {
			v.Hidden = append(v.Hidden, hiddenField{Name: k, Value: state.Get(k)})
		}
	}
	return v
}

func sortedKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (p *pages) pickerCompanies(ctx context.Context, selected string) ([]companyOption, error) {
	rows, err := p.s.pool.Query(ctx, `SELECT id::text, coalesce(name, '') FROM companies ORDER BY name, id LIMIT $1`, maxPickerCompanies)
	if err != nil {
		return nil, fmt.Errorf("listing companies: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (companyOption, error) {
		var o companyOption
		err := row.Scan(&o.ID, &o.Name)
		o.Selected = o.ID == selected
		return o, err
	})
}

// retryOutbox is the Retry Failed button: ledger.RetryFailed, as the API's
// POST .../sync/retry-failed.
func (p *pages) retryOutbox(w http.ResponseWriter, r *http.Request) {
	ses, company, err := p.authorizeForm(w, r, "")
	if err != nil {
		p.fail(w, r, err)
		return
	}
	r = withActor(r, ses, company)
	n, err := ledger.RetryFailed(r.Context(), p.s.pool, company)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.s.audit(r, "outbox retry-failed", slog.Int64("reset", n))
	p.setFlash(w, r, company, "outbox", n)
	http.Redirect(w, r, companyRef{ID: company}.SyncURL()+"#outbox", http.StatusSeeOther)
}

// retryDeliveries processes the company's failed webhook deliveries again,
// as the API's POST .../webhook-deliveries/retry-failed.
func (p *pages) retryDeliveries(w http.ResponseWriter, r *http.Request) {
	ses, company, err := p.authorizeForm(w, r, "")
	if err != nil {
		p.fail(w, r, err)
		return
	}
	r = withActor(r, ses, company)
	res, err := p.s.deliveries.RetryFailed(r.Context(), company)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.s.audit(r, "webhook-deliveries retry-failed", slog.Int("retried", res.Retried))
	p.setFlash(w, r, company, "deliveries", int64(res.Retried), int64(res.Processed), int64(res.Failed))
	http.Redirect(w, r, companyRef{ID: company}.SyncURL()+"#deliveries", http.StatusSeeOther)
}

// setFlash keeps the counts of a Retry Failed for the next sync page of the
// same company. Only numbers travel: the text is written by flashMessage.
func (p *pages) setFlash(w http.ResponseWriter, r *http.Request, company, kind string, counts ...int64) {
	parts := []string{company, kind}
	for _, n := range counts {
		parts = append(parts, strconv.FormatInt(n, 10))
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: strings.Join(parts, "."), Path: "/admin/",
		MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r)})
}

// takeFlash returns the kept message when it is about company, and forgets it.
func (p *pages) takeFlash(w http.ResponseWriter, r *http.Request, company string) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/admin/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r)})
	parts := strings.Split(c.Value, ".")
	if len(parts) < 2 || parts[0] != company {
		return ""
	}
	return flashMessage(parts[1], parts[2:])
}

func flashMessage(kind string, counts []string) string {
	n := make([]int64, len(counts))
	for i, c := range counts {
		v, err := strconv.ParseInt(c, 10, 64)
		if err != nil || v < 0 {
			return ""
		}
		n[i] = v
	}
	switch {
	case kind == "outbox" && len(n) == 1:
		return fmt.Sprintf("%d %s reset to pending", n[0], plural(n[0], "item", "items"))
	case kind == "deliveries" && len(n) == 3:
		return fmt.Sprintf("%d failed %s processed again: %d processed, %d failed",
			n[0], plural(n[0], "delivery", "deliveries"), n[1], n[2])
	}
	return ""
}
