package dashboards

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func TestCommittedDashboardIsGenerated(t *testing.T) {
	want, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("alignsync.json")
	if err != nil {
		t.Fatalf("reading the committed dashboard: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("dashboards/alignsync.json differs from the generator's output; run: go run ./dashboards/gen > dashboards/alignsync.json")
	}
}

func TestRowsFollowTheIssue(t *testing.T) {
	var titles []string
	for _, p := range readDashboard(t).Panels {
		if p.Type == "row" {
			titles = append(titles, p.Title)
		}
	}
	want := []string{"Capture", "Kafka", "Sink", "Ingest", "Reconcile"}
	if !slices.Equal(titles, want) {
		t.Fatalf("rows = %q, want %q", titles, want)
	}
}

func TestPanelsQueryTheDatasourceVariable(t *testing.T) {
	d := readDashboard(t)
	found := false
	for _, v := range d.Templating.List {
		if v.Name == DatasourceVariable && v.Type == "datasource" && v.Query == "prometheus" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no Prometheus datasource variable %q in %+v", DatasourceVariable, d.Templating.List)
	}
	ref := "${" + DatasourceVariable + "}"
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != ref {
			t.Errorf("panel %q: datasource %+v, want uid %s", p.Title, p.Datasource, ref)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Datasource == nil || tg.Datasource.UID != ref {
				t.Errorf("panel %q query %s: datasource %+v, want uid %s", p.Title, tg.RefID, tg.Datasource, ref)
			}
		}
	}
}

// An SRE opening the dashboard sees every lag and failure panel whole,
// without scrolling.
func TestLagAndFailurePanelsAreOnTheFirstScreen(t *testing.T) {
	byTitle := map[string]jsonPanel{}
	for _, p := range readDashboard(t).Panels {
		byTitle[p.Title] = p
	}
	n := 0
	for _, r := range rows {
		for _, p := range r.panels {
			if p.signal == detail {
				continue
			}
			n++
			jp, ok := byTitle[p.title]
			if !ok {
				t.Errorf("panel %q is missing from alignsync.json", p.title)
				continue
			}
			if bottom := jp.GridPos.Y + jp.GridPos.H; bottom > firstScreen {
				t.Errorf("panel %q ends at grid row %d, below the first screen (%d)", p.title, bottom, firstScreen)
			}
		}
	}
	if n == 0 {
		t.Fatal("no panel is marked as a lag or failure panel")
	}
}

// The SDK reads the committed file back strictly (no unknown or mistyped
// field) and validates it.
func TestCommittedDashboardValidatesWithTheSDK(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	raw, err := os.ReadFile("alignsync.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard.Dashboard
	if err := sdkErr(d.UnmarshalJSONStrict(raw)); err != nil {
		t.Fatalf("strict decoding: %v", err)
	}
	if err := sdkErr(d.Validate()); err != nil {
		t.Fatalf("validating: %v", err)
	}
	if len(d.Panels) == 0 {
		t.Fatal("the SDK read no panel back")
	}
}

// sdkErr undoes the SDK's habit of returning an empty cog.BuildErrors (a
// non-nil error interface) for success.
func sdkErr(err error) error {
	var be cog.BuildErrors
	if errors.As(err, &be) && len(be) == 0 {
		return nil
	}
	return err
}
