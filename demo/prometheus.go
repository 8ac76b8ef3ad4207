package demo

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// startPrometheus runs a local Prometheus scraping the demo's /metrics when
// the binary is installed (Debian: apt-get install prometheus).
func (w *world) startPrometheus(ctx context.Context) error {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		return fmt.Errorf("--prometheus: no prometheus binary on PATH (Debian: apt-get install prometheus)")
	}
	dir, err := os.MkdirTemp("", "alignsync-demo-prometheus-")
	if err != nil {
		return err
	}
	target := strings.TrimPrefix(w.serveURL, "http://")
	config := fmt.Sprintf("global:\n  scrape_interval: 2s\n  evaluation_interval: 2s\nscrape_configs:\n  - job_name: alignsync-demo\n    static_configs:\n      - targets: [%q]\n", target)
	if rules, err := filepath.Abs("deploy/prometheus/alerts.yml"); err == nil {
		if _, err := os.Stat(rules); err == nil {
			config += fmt.Sprintf("rule_files:\n  - %q\n", rules)
		}
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+w.opts.PrometheusAddr)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting prometheus: %w", err)
	}
	w.stops = append(w.stops, func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		os.RemoveAll(dir)
	})
	url := "http://" + w.opts.PrometheusAddr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("prometheus on %s did not become ready", w.opts.PrometheusAddr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(w.opts.Out, "prometheus %s  (scraping %s/metrics every 2 s)\n", url, w.serveURL)
	return nil
}
