package dashboards

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// UID is the dashboard's stable identifier (its URL is /d/alignsync).
const UID = "alignsync"

// DatasourceVariable names the Prometheus datasource variable every panel
// queries through.
const DatasourceVariable = "datasource"

// RateInterval is the range every rate() uses; Grafana sizes it from the
// datasource's scrape interval.
const RateInterval = "$__rate_interval"

// firstScreen is the height in grid units (30 px plus an 8 px margin each)
// that a 1080p display shows below Grafana's header: about 900 px.
const firstScreen = 24

// signal marks the panels an SRE must see without scrolling.
type signal int

const (
	detail signal = iota
	lag
	failure
)

type visual int

const (
	graph visual = iota
	single
)

type query struct {
	expr   string
	legend string
}

type panel struct {
	title       string
	description string
	unit        string
	width       uint32
	visual      visual
	signal      signal
	red         *float64 // stat threshold from which the value shows red
	noValue     string   // what a stat shows when its query returns nothing
	queries     []query
}

type row struct {
	title  string
	height uint32
	panels []panel
}

func red(v float64) *float64 { return &v }

func rate(metric string) string {
	return fmt.Sprintf("rate(%s[%s])", metric, RateInterval)
}

func quantile(q, histogram string) string {
	return fmt.Sprintf("histogram_quantile(%s, sum by (le) (%s))", q, rate(histogram+"_bucket"))
}

// rows is the dashboard, top to bottom. Each row opens with its lag and
// failure panels, and the whole dashboard fits in firstScreen units.
var rows = []row{
	{title: "Capture", height: 3, panels: []panel{
		{title: "Slot retained WAL", unit: "bytes", width: 5, signal: lag,
			description: "WAL PostgreSQL keeps for the slot (current LSN − restart_lsn). Growth means capture is behind or stopped; the disk fills.",
			queries:     []query{{"max(alignsync_capture_slot_retained_wal_bytes)", "retained"}}},
		{title: "Slot unconfirmed WAL", unit: "bytes", width: 5, signal: lag,
			description: "WAL written but not yet confirmed by capture (current LSN − confirmed_flush_lsn).",
			queries:     []query{{"max(alignsync_capture_slot_unconfirmed_bytes)", "unconfirmed"}}},
		{title: "Seconds since last commit seen", unit: "s", width: 4, visual: single, signal: lag, red: red(900), noValue: "none yet",
			description: "Now minus the commit time (PostgreSQL's clock) of the last transaction Kafka acknowledged. Grows while the source is idle, too.",
			queries:     []query{{"time() - (max(alignsync_capture_last_commit_timestamp_seconds) > 0)", "since last commit"}}},
		{title: "Commit → Kafka latency p50/p99", unit: "s", width: 5,
			description: "From a transaction's commit in PostgreSQL to Kafka acknowledging its last change.",
			queries: []query{
				{quantile("0.5", "alignsync_capture_commit_to_ack_seconds"), "p50"},
				{quantile("0.99", "alignsync_capture_commit_to_ack_seconds"), "p99"},
			}},
		{title: "Events/s by table", unit: "ops", width: 5,
			description: "Row changes decoded from the replication stream.",
			queries:     []query{{"sum by (table) (" + rate("alignsync_capture_events_total") + ")", "{{table}}"}}},
	}},
	{title: "Kafka", height: 3, panels: []panel{
		{title: "Consumer lag per partition", unit: "short", width: 14, signal: lag,
			description: "Messages between the sink group's committed offset and the end of each partition of illumera.cdc.",
			queries:     []query{{"max by (partition) (alignsync_sink_consumer_lag_messages)", "partition {{partition}}"}}},
		{title: "Consumer lag, total", unit: "short", width: 5, visual: single, signal: lag, red: red(10000),
			description: "Sum of the partitions' lag.",
			queries:     []query{{"sum(max by (partition) (alignsync_sink_consumer_lag_messages))", "total"}}},
		{title: "Dead-lettered messages/s", unit: "ops", width: 5, visual: single, signal: failure, red: red(0.000001),
			description: "Changes capture could not encode plus messages the sink could not decode, sent to illumera.cdc.dlq.",
			queries: []query{{"(sum(" + rate("alignsync_capture_dead_letters_total") + ") or vector(0)) + " +
				"(sum(" + rate(`alignsync_sink_messages_total{result="dead_lettered"}`) + ") or vector(0))", "dead-lettered"}}},
	}},
	// Two lines of panels: the queues (lag) first, then how the executors
	// work through them.
	{title: "Sink", height: 3, panels: []panel{
		{title: "Outbox failed and pending", unit: "short", width: 5, signal: failure,
			description: "Operations parked as failed (retried at next_retry_at; Retry Failed resets them) and pending: each company's durable queue.",
			queries:     []query{{`max by (status) (alignsync_sink_outbox_operations{status=~"failed|pending"})`, "{{status}}"}}},
		{title: "Oldest pending operation", unit: "s", width: 4, visual: single, signal: lag, red: red(300),
			description: "Age of the oldest pending or processing operation in any company's queue. Grows when Align's rate limit or an outage holds a backlog.",
			queries:     []query{{"max(alignsync_sink_oldest_pending_age_seconds)", "oldest"}}},
		{title: "Companies with ready work", unit: "short", width: 4, visual: single, signal: lag,
			description: "Companies whose queue has an operation that may run now: running in an executor slot or waiting for one.",
			queries:     []query{{"max(alignsync_sink_companies_ready)", "ready"}}},
		{title: "Align error rate by status class", unit: "percentunit", width: 5, signal: failure,
			description: "Share of HTTP attempts against Align that did not answer 2xx (4xx, 5xx, or a transport error). 0 when every attempt succeeded.",
			queries: []query{{"(sum by (status_class) (" + rate(`alignsync_align_requests_total{status_class!="2xx"}`) + ")" +
				" / ignoring (status_class) group_left () sum(" + rate("alignsync_align_requests_total") + "))" +
				" or vector(0)", "{{status_class}}"}}},
		{title: "Operations/s by outcome", unit: "ops", width: 6, signal: failure,
			description: "Align operations by outcome: done, duplicate, waiting, parked, failed, retry_later, rate_limited.",
			queries:     []query{{"sum by (outcome) (" + rate("alignsync_sink_operations_total") + ")", "{{outcome}}"}}},
		{title: "Pending per company (top 10)", unit: "short", width: 6, signal: lag,
			description: "Pending or processing operations of the ten companies with the most: who is backed up (a bulk import, a rate-limited key).",
			queries:     []query{{"topk(10, max by (company_id) (alignsync_sink_company_pending_operations)) or on () vector(0)", "{{company_id}}"}}},
		{title: "Executor slots busy", unit: "short", width: 5,
			description: "Slots running a company's turn, against the slots of every sink instance. Full while companies wait: add slots or instances.",
			queries: []query{
				{"sum(alignsync_sink_executor_slots_busy)", "busy"},
				{"sum(alignsync_sink_executor_slots)", "slots"},
			}},
		{title: "Lease takeovers (1 h)", unit: "short", width: 4, visual: single, signal: failure, red: red(1),
			description: "Companies taken over from an instance whose lease expired unreleased (it died or stalled) in the last hour.",
			queries:     []query{{"sum(increase(alignsync_sink_lease_takeovers_total[1h]))", "takeovers"}}},
		{title: "Align latency p99", unit: "s", width: 4,
			description: "99th percentile of HTTP attempts against Align.",
			queries:     []query{{quantile("0.99", "alignsync_align_request_duration_seconds"), "p99"}}},
		{title: "End-to-end latency p50/p99", unit: "s", width: 5,
			description: "From the source transaction's commit to Align's 2xx for the operation's first run.",
			queries: []query{
				{quantile("0.5", "alignsync_sink_end_to_end_latency_seconds"), "p50"},
				{quantile("0.99", "alignsync_sink_end_to_end_latency_seconds"), "p99"},
			}},
	}},
	{title: "Ingest", height: 4, panels: []panel{
		{title: "Connections in error", unit: "short", width: 4, visual: single, signal: failure, red: red(1),
			description: "Companies whose Align connection is in error: key refused (revoked or invalid) or webhook not registrable; their statuses and operations wait for a company admin to reconnect. Read from align_sync.connections by serve's health check.",
			queries:     []query{{`max(alignsync_connections{status="error"})`, "in error"}}},
		{title: "Webhook processing failures/s", unit: "ops", width: 10, signal: failure,
			description: "Deliveries recorded as failed, by reason: unknown_time_entry, invalid_data, database.",
			queries:     []query{{"sum by (reason) (" + rate("alignsync_ingest_processing_failures_total") + ")", "{{reason}}"}}},
		{title: "Webhooks/s by result", unit: "ops", width: 10,
			description: "Webhook requests from Align: processed, duplicate, failed, unauthorized, forbidden, not_found, invalid, error.",
			queries:     []query{{"sum by (result) (" + rate("alignsync_ingest_webhooks_total") + ")", "{{result}}"}}},
	}},
	{title: "Reconcile", height: 3, panels: []panel{
		{title: "Age of last successful reconcile", unit: "s", width: 6, visual: single, signal: failure, red: red(26 * 3600), noValue: "none in 27 h",
			description: "Now minus the end of the last run that compared every company (nightly). Above 26 h a run was missed or failed. Reads 27 h of history so that restarts do not hide it.",
			queries:     []query{{"time() - (max(max_over_time(alignsync_reconcile_last_success_timestamp_seconds[27h])) > 0)", "age"}}},
		{title: "Discrepancies found (26 h)", unit: "short", width: 6, visual: single, signal: failure, red: red(1),
			description: "Approved minutes or cost on which Illumera and Align disagree, recorded by the runs of the last 26 h (align_sync.reconciliation_discrepancies).",
			queries:     []query{{"sum(increase(alignsync_reconcile_discrepancies_found_total[26h]))", "discrepancies"}}},
		{title: "Link problems found (26 h)", unit: "short", width: 6, visual: single, signal: failure, red: red(1),
			description: "Entity links Align disagrees with (unknown to Align, or pointing elsewhere), found by the runs of the last 26 h.",
			queries:     []query{{"sum(increase(alignsync_reconcile_link_problems_total[26h]))", "link problems"}}},
		{title: "Repairs applied (26 h)", unit: "short", width: 6, visual: single,
			description: "Missed webhooks written back and entries sent to Align again by the runs of the last 26 h.",
			queries:     []query{{"sum(increase(alignsync_reconcile_repairs_total[26h]))", "repairs"}}},
	}},
}

var datasource = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${" + DatasourceVariable + "}")}

// Build assembles the dashboard.
func Build() (dashboard.Dashboard, error) {
	b := dashboard.NewDashboardBuilder("alignsync").
		Uid(UID).
		Description("alignsync: PostgreSQL → Kafka → Align. Lag and failures on top of each row; rows follow a change's path.").
		Tags([]string{"alignsync"}).
		Refresh("30s").
		Time("now-1h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		WithVariable(dashboard.NewDatasourceVariableBuilder(DatasourceVariable).
			Label("Prometheus").
			Type("prometheus"))
	id := uint32(1)
	for _, r := range rows {
		b = b.WithRow(dashboard.NewRowBuilder(r.title).Id(id))
		id++
		for _, p := range r.panels {
			b = b.WithPanel(p.builder(id, r.height))
			id++
		}
	}
	return b.Build()
}

// JSON is the dashboard as committed in alignsync.json.
func JSON() ([]byte, error) {
	d, err := Build()
	if err != nil {
		return nil, fmt.Errorf("building the dashboard: %w", err)
	}
	out, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the dashboard: %w", err)
	}
	return append(out, '\n'), nil
}

func (p panel) targets() []cog.Builder[variants.Dataquery] {
	var out []cog.Builder[variants.Dataquery]
	for i, q := range p.queries {
		out = append(out, cog.Builder[variants.Dataquery](prometheus.NewDataqueryBuilder().
			Datasource(datasource).
			RefId(string(rune('A'+i))).
			Expr(q.expr).
			LegendFormat(q.legend)))
	}
	return out
}

func (p panel) builder(id, height uint32) cog.Builder[dashboard.Panel] {
	if p.visual == single {
		b := stat.NewPanelBuilder().Id(id).Title(p.title).Description(p.description).
			Datasource(datasource).Unit(p.unit).Span(p.width).Height(height).
			GraphMode(common.BigValueGraphModeArea).Orientation(common.VizOrientationAuto).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
			Thresholds(p.thresholds())
		if p.noValue != "" {
			b = b.NoValue(p.noValue)
		}
		for _, t := range p.targets() {
			b = b.WithTarget(t)
		}
		return b
	}
	b := timeseries.NewPanelBuilder().Id(id).Title(p.title).Description(p.description).
		Datasource(datasource).Unit(p.unit).Span(p.width).Height(height).Min(0).
		FillOpacity(10).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending)).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).
			DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom))
	for _, t := range p.targets() {
		b = b.WithTarget(t)
	}
	return b
}

func (p panel) thresholds() *dashboard.ThresholdsConfigBuilder {
	steps := []dashboard.Threshold{{Color: "green"}}
	if p.red != nil {
		steps = append(steps, dashboard.Threshold{Value: p.red, Color: "red"})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(steps)
}
