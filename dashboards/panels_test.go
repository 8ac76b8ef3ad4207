package dashboards

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// The committed dashboard as Grafana reads it: tests check the file users
// import, not the Go that wrote it.
type jsonDashboard struct {
	UID        string      `json:"uid"`
	Panels     []jsonPanel `json:"panels"`
	Templating struct {
		List []struct {
			Type  string `json:"type"`
			Name  string `json:"name"`
			Query string `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type jsonPanel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource *jsonDatasource `json:"datasource"`
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		RefID      string          `json:"refId"`
		Expr       string          `json:"expr"`
		Datasource *jsonDatasource `json:"datasource"`
	} `json:"targets"`
}

type jsonDatasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// expression is one panel query, with Grafana's interval variable replaced
// by a concrete range so that Prometheus can parse and run it.
type expression struct {
	panel string
	refID string
	expr  string
}

func readDashboard(t *testing.T) jsonDashboard {
	t.Helper()
	raw, err := os.ReadFile("alignsync.json")
	if err != nil {
		t.Fatalf("reading the committed dashboard: %v", err)
	}
	var d jsonDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("decoding alignsync.json: %v", err)
	}
	return d
}

// expressions lists every panel query with $__rate_interval set to window.
func expressions(t *testing.T, window string) []expression {
	t.Helper()
	var out []expression
	for _, p := range readDashboard(t).Panels {
		for _, tg := range p.Targets {
			out = append(out, expression{panel: p.Title, refID: tg.RefID,
				expr: strings.ReplaceAll(tg.Expr, RateInterval, window)})
		}
	}
	if len(out) == 0 {
		t.Fatal("alignsync.json has no panel expressions")
	}
	return out
}
