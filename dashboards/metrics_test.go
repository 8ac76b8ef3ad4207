package dashboards

import (
	"context"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/illumera/alignsync/admin"
	"github.com/illumera/alignsync/capture"
	"github.com/illumera/alignsync/connect"
	"github.com/illumera/alignsync/ingest"
	"github.com/illumera/alignsync/internal/ops"
	"github.com/illumera/alignsync/pipeline"
	"github.com/illumera/alignsync/reconcile"
)

// recorder is a Registerer that remembers what each component registers, so
// that metric vectors without children yet are linted and known too.
type recorder struct {
	reg        *prometheus.Registry
	collectors []prometheus.Collector
}

func (r *recorder) Register(c prometheus.Collector) error {
	if err := r.reg.Register(c); err != nil {
		return err
	}
	r.collectors = append(r.collectors, c)
	return nil
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *recorder) Unregister(c prometheus.Collector) bool { return r.reg.Unregister(c) }

// allComponents registers every component's metrics on one registry, as
// `alignsync demo` serves them.
func allComponents(t *testing.T) (*prometheus.Registry, *recorder) {
	t.Helper()
	reg := ops.NewRegistry()
	rec := &recorder{reg: reg}
	capture.NewMetrics(rec)
	// The sink copies the pool's configuration; pools connect lazily, so
	// nothing here reaches a database or a broker.
	pool, err := pgxpool.New(context.Background(), "postgres://alignsync@127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	sink, err := pipeline.New(pipeline.Config{Brokers: []string{"127.0.0.1:1"}, AlignBaseURL: "http://127.0.0.1:1"},
		pool, nil, slog.New(slog.DiscardHandler), rec)
	if err != nil {
		t.Fatalf("building the sink (for its metrics): %v", err)
	}
	t.Cleanup(sink.Close)
	ingest.NewMetrics(rec)
	connect.NewMetrics(rec)
	admin.NewMetrics(rec)
	reconcile.NewMetrics(rec)
	return reg, rec
}

var (
	fqNameRe = regexp.MustCompile(`fqName: "([^"]+)"`)
	labelsRe = regexp.MustCompile(`variableLabels: \{([^}]*)\}\}$`)
)

// describe returns the name and variable label names of each metric a
// collector describes (read from Desc.String, the only public view of them).
func describe(c prometheus.Collector) (names []string, labels [][]string) {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		s := d.String()
		m := fqNameRe.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		names = append(names, m[1])
		var ls []string
		if l := labelsRe.FindStringSubmatch(s); l != nil && l[1] != "" {
			for _, name := range strings.Split(l[1], ",") {
				ls = append(ls, strings.TrimSuffix(strings.TrimPrefix(name, "c("), ")"))
			}
		}
		labels = append(labels, ls)
	}
	return names, labels
}

// registeredNames is every metric name alignsync serves, mapped to its label
// names.
func registeredNames(t *testing.T) map[string][]string {
	t.Helper()
	reg, rec := allComponents(t)
	out := map[string][]string{}
	for _, c := range rec.collectors {
		names, labels := describe(c)
		for i, n := range names {
			out[n] = labels[i]
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gathering: %v", err)
	}
	for _, mf := range mfs {
		if _, ok := out[mf.GetName()]; !ok {
			out[mf.GetName()] = nil
		}
	}
	return out
}

// registered reports whether the series name belongs to a registered metric:
// histograms and summaries serve _bucket, _sum and _count series.
func registered(names map[string][]string, series string) bool {
	if _, ok := names[series]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(series, suffix); ok {
			if _, ok := names[base]; ok {
				return true
			}
		}
	}
	return false
}

func TestRegisteredMetricsPassLint(t *testing.T) {
	reg, rec := allComponents(t)
	// A vector shows in Gather only once it has a child: give each one, so
	// that the lint sees the full set.
	for _, c := range rec.collectors {
		_, labels := describe(c)
		if len(labels) != 1 {
			continue
		}
		values := make([]string, len(labels[0]))
		for i := range values {
			values[i] = "lint"
		}
		switch v := c.(type) {
		case *prometheus.CounterVec:
			v.WithLabelValues(values...)
		case *prometheus.GaugeVec:
			v.WithLabelValues(values...)
		case *prometheus.HistogramVec:
			v.WithLabelValues(values...)
		case *prometheus.SummaryVec:
			v.WithLabelValues(values...)
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatalf("gathering: %v", err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	mfs, _ := reg.Gather()
	t.Logf("linted %d metric families", len(mfs))
}

// Label values must stay bounded: no tenant or record identifiers.
var unboundedLabel = regexp.MustCompile(`(^|_)(id|company|connection|organization|org|delivery|talent|engagement|entry|email|key)($|_)`)

// boundedByDesign are the metrics whose identifier label is bounded some
// other way, and how.
var boundedByDesign = map[string]string{
	// The SRE's "who is backed up": the top 10 companies only, the gauge
	// reset at every poll, so at most 10 series exist at a time.
	"alignsync_sink_company_pending_operations": "company_id",
}

func TestMetricLabelsAreBounded(t *testing.T) {
	for name, labels := range registeredNames(t) {
		if !strings.HasPrefix(name, "alignsync_") {
			continue
		}
		for _, l := range labels {
			if unboundedLabel.MatchString(l) && boundedByDesign[name] != l {
				t.Errorf("%s has label %q, which would take one value per tenant or record", name, l)
			}
		}
	}
}

func TestRegisteredMetricsArePrefixed(t *testing.T) {
	for name := range registeredNames(t) {
		if !strings.HasPrefix(name, "alignsync_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("metric %s lacks the alignsync_ prefix", name)
		}
	}
}

// selectors parses expr and returns the metric names it selects.
func selectors(expr string) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names, nil
}

func TestPanelExpressionsUseRegisteredMetrics(t *testing.T) {
	names := registeredNames(t)
	for _, e := range expressions(t, "1m") {
		if strings.Contains(e.expr, "$") {
			t.Errorf("panel %q query %s: Grafana variable left unresolved: %s", e.panel, e.refID, e.expr)
			continue
		}
		used, err := selectors(e.expr)
		if err != nil {
			t.Errorf("panel %q query %s does not parse: %v\n\t%s", e.panel, e.refID, err, e.expr)
			continue
		}
		if len(used) == 0 {
			t.Errorf("panel %q query %s selects no metric: %s", e.panel, e.refID, e.expr)
		}
		for _, n := range used {
			if n == "" {
				t.Errorf("panel %q query %s has a selector without a metric name", e.panel, e.refID)
			} else if !registered(names, n) {
				t.Errorf("panel %q query %s uses %s, which no component registers", e.panel, e.refID, n)
			}
		}
	}
}

// The alert rules read the same metrics as the dashboard; a renamed metric
// must break them here, not silently in production.
func TestAlertExpressionsUseRegisteredMetrics(t *testing.T) {
	raw, err := os.ReadFile("../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatalf("reading the alert rules: %v", err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatalf("decoding alerts.yml: %v", err)
	}
	names := registeredNames(t)
	var alerts []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			used, err := selectors(r.Expr)
			if err != nil {
				t.Errorf("alert %s does not parse: %v", r.Alert, err)
				continue
			}
			for _, n := range used {
				if !registered(names, n) {
					t.Errorf("alert %s uses %s, which no component registers", r.Alert, n)
				}
			}
		}
	}
	sort.Strings(alerts)
	t.Logf("alerts checked: %s", strings.Join(alerts, ", "))
}
