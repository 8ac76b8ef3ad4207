package deploy

import (
	"os"
	"os/exec"
	"testing"

	"go.yaml.in/yaml/v3"
)

func promtool(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found on PATH: install the Debian package prometheus (apt-get install prometheus)")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = "prometheus"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// ruleTestFiles are the promtool unit tests of alerts.yml, in prometheus/.
var ruleTestFiles = []string{"alerts_test.yml", "alerts_reconcile_test.yml"}

func TestAlertRulesPassPromtoolCheck(t *testing.T) {
	t.Log(promtool(t, "check", "rules", "alerts.yml"))
}

// The compose Prometheus configuration, which loads the rules too.
func TestComposePrometheusConfigPassesPromtoolCheck(t *testing.T) {
	t.Log(promtool(t, "check", "config", "prometheus.yml"))
}

func TestAlertRuleUnitTestsPass(t *testing.T) {
	t.Log(promtool(t, append([]string{"test", "rules"}, ruleTestFiles...)...))
}

// Every alert must be shown to fire and to clear by the unit tests.
func TestEveryAlertIsTestedFiringAndCleared(t *testing.T) {
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, "prometheus/alerts.yml", &rules)
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	fires, clears := map[string]bool{}, map[string]bool{}
	for _, f := range ruleTestFiles {
		tests.Tests = nil
		readYAML(t, "prometheus/"+f, &tests)
		for _, tc := range tests.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					clears[a.Alertname] = true
				}
			}
		}
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if !fires[r.Alert] {
				t.Errorf("alert %s: no test expects it to fire", r.Alert)
			}
			if !clears[r.Alert] {
				t.Errorf("alert %s: no test expects it to be clear", r.Alert)
			}
		}
	}
	want := []string{"AlignsyncSlotRetainedWALHigh", "AlignsyncCaptureNotAdvancing", "AlignsyncReplicationSlotLost", "AlignsyncConsumerLagGrowing",
		"AlignsyncOperationsFailing", "AlignsyncWebhookFailures", "AlignsyncReconcileNotSuccessful",
		"AlignsyncReconcileDiscrepancies", "AlignsyncConnectionsInError"}
	for _, a := range want {
		if !fires[a] {
			t.Errorf("alert %s is missing or untested", a)
		}
	}
	if n != len(want) {
		t.Errorf("alerts.yml has %d alerts, want the %d the issue lists", n, len(want))
	}
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, into); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
}
