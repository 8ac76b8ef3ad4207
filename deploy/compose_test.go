package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Stand-ins for the secrets and settings deploy/.env must provide.
var composeSecrets = map[string]string{
	"POSTGRES_PASSWORD":          "test-postgres-password",
	"ALIGNSYNC_ENCRYPTION_KEYS":  "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	"ALIGNSYNC_ADMIN_JWT_SECRET": "test-admin-jwt-secret-of-at-least-32-bytes",
	"ALIGNSYNC_PUBLIC_BASE_URL":  "https://sync.illumera.example",
}

// dockerCompose runs `docker-compose config` on docker-compose.yml with the
// given secrets and no .env file, so that a developer's deploy/.env cannot
// change the result.
func dockerCompose(t *testing.T, secrets map[string]string, args ...string) ([]byte, error) {
	t.Helper()
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatal("docker-compose not found on PATH: install the Debian package docker-compose (apt-get install docker-compose)")
	}
	empty := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--env-file", empty, "-f", "docker-compose.yml"}, args...)...)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if _, ours := composeSecrets[name]; !ours && name != "ALIGN_BASE_URL" && name != "ALIGNSYNC_PUBLIC_BASE_URL" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range secrets {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd.CombinedOutput()
}

// composeFile is what `docker-compose config` makes of docker-compose.yml.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

// composeConfig is the file as docker-compose resolves it with every
// stand-in set and the dev profile on.
func composeConfig(t *testing.T) composeFile {
	t.Helper()
	out, err := dockerCompose(t, composeSecrets, "--profile", "dev", "config")
	if err != nil {
		t.Fatalf("docker-compose config rejected docker-compose.yml: %v\n%s", err, out)
	}
	var cfg composeFile
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("decoding docker-compose config's output: %v", err)
	}
	return cfg
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       map[string]any    `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Profiles    []string          `yaml:"profiles"`
	Volumes     []any             `yaml:"volumes"`
}

// mounts maps each bind mount's target to its source, whatever the syntax.
func (s composeService) mounts() map[string]string {
	out := map[string]string{}
	for _, v := range s.Volumes {
		switch v := v.(type) {
		case string:
			parts := strings.Split(v, ":")
			if len(parts) >= 2 {
				out[parts[1]] = parts[0]
			}
		case map[string]any:
			src, _ := v["source"].(string)
			dst, _ := v["target"].(string)
			out[dst] = src
		}
	}
	return out
}

func TestComposeConfigIsAccepted(t *testing.T) {
	cfg := composeConfig(t)
	for _, name := range []string{"postgres", "kafka", "capture", "sink", "serve", "alignsim", "prometheus", "grafana"} {
		if _, ok := cfg.Services[name]; !ok {
			t.Errorf("service %s is missing", name)
		}
	}

	pg := cfg.Services["postgres"]
	if !strings.HasPrefix(pg.Image, "postgres:16") {
		t.Errorf("postgres image %s, want postgres:16", pg.Image)
	}
	if !slices.Contains(pg.Command, "wal_level=logical") {
		t.Errorf("postgres command %v does not set wal_level=logical", pg.Command)
	}
	kafka := cfg.Services["kafka"]
	if !strings.HasPrefix(kafka.Image, "apache/kafka:") && !strings.Contains(kafka.Image, "redpanda") {
		t.Errorf("kafka image %s, want Apache Kafka or Redpanda", kafka.Image)
	}
	if strings.HasPrefix(kafka.Image, "apache/kafka:") && !strings.Contains(kafka.Environment["KAFKA_PROCESS_ROLES"], "controller") {
		t.Errorf("kafka is not in KRaft mode: KAFKA_PROCESS_ROLES=%q", kafka.Environment["KAFKA_PROCESS_ROLES"])
	}
	if p := cfg.Services["alignsim"].Profiles; !slices.Equal(p, []string{"dev"}) {
		t.Errorf("alignsim profiles %v, want [dev]", p)
	}

	// alignsync's own services: commands and variables the binary knows,
	// listeners on every interface, secrets from the environment only.
	ports := map[string]string{}
	for name, s := range cfg.Services {
		if s.Image != "alignsync:local" {
			continue
		}
		if df, _ := s.Build["dockerfile"].(string); df != "deploy/Dockerfile" {
			t.Errorf("service %s builds %q, want deploy/Dockerfile", name, df)
		}
		if len(s.Command) == 0 {
			t.Errorf("service %s has no command", name)
			continue
		}
		known := helpEnv(t, s.Command[0])
		for k, v := range s.Environment {
			if !known[k] {
				t.Errorf("service %s sets %s, which `alignsync %s --help` does not list", name, k, s.Command[0])
			}
			if secretEnv[k] && !strings.Contains(v, composeSecrets[secretSource(k)]) {
				t.Errorf("service %s: %s does not come from $%s", name, k, secretSource(k))
			}
		}
		if env, ok := listenEnv[s.Command[0]]; ok {
			port, err := listenPort(s.Environment[env])
			if err != nil {
				t.Errorf("service %s: %s: %v", name, env, err)
			}
			ports[name] = port
		}
	}

	// Prometheus scrapes every long-running alignsync process on its port.
	prom := cfg.Services["prometheus"]
	mounted := prom.mounts()
	for _, f := range []string{"prometheus.yml", "alerts.yml"} {
		src, ok := mounted["/etc/prometheus/"+f]
		if !ok || filepath.Base(src) != f {
			t.Errorf("prometheus does not mount deploy/prometheus/%s at /etc/prometheus/%s (mounts %v)", f, f, mounted)
		}
	}
	targets := scrapeTargets(t)
	for _, name := range []string{"capture", "sink", "serve"} {
		if want := name + ":" + ports[name]; !targets[want] {
			t.Errorf("prometheus.yml does not scrape %s (targets %v)", want, targets)
		}
	}

	// Grafana gets the datasource and the committed dashboard.
	g := cfg.Services["grafana"].mounts()
	if src := g["/etc/grafana/provisioning"]; filepath.Base(src) != "provisioning" {
		t.Errorf("grafana does not mount deploy/grafana/provisioning (mounts %v)", g)
	}
	dashboardDir := providerPath(t)
	if src := g[dashboardDir+"/alignsync.json"]; !strings.HasSuffix(src, "dashboards/alignsync.json") {
		t.Errorf("grafana does not mount dashboards/alignsync.json into the provider's path %s (mounts %v)", dashboardDir, g)
	}
	var ds struct {
		Datasources []struct {
			Type, URL string
			IsDefault bool `yaml:"isDefault"`
		} `yaml:"datasources"`
	}
	readYAML(t, "grafana/provisioning/datasources/prometheus.yml", &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" || !ds.Datasources[0].IsDefault {
		t.Errorf("grafana datasource %+v, want the default prometheus at http://prometheus:9090", ds.Datasources)
	}
}

// Secrets have no defaults: without them docker-compose refuses the file.
func TestComposeRequiresSecrets(t *testing.T) {
	out, err := dockerCompose(t, nil, "config")
	if err == nil {
		t.Fatalf("docker-compose config accepted the file without secrets:\n%s", out)
	}
	if !strings.Contains(string(out), "POSTGRES_PASSWORD") && !strings.Contains(string(out), "ALIGNSYNC_") {
		t.Errorf("docker-compose failed for another reason than the missing secrets:\n%s", out)
	}
}

// secretSource is the .env variable a credential is built from.
func secretSource(env string) string {
	if env == "DATABASE_URL" {
		return "POSTGRES_PASSWORD"
	}
	return env
}

func scrapeTargets(t *testing.T) map[string]bool {
	t.Helper()
	var cfg struct {
		ScrapeConfigs []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "prometheus/prometheus.yml", &cfg)
	out := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				out[target] = true
			}
		}
	}
	return out
}

func providerPath(t *testing.T) string {
	t.Helper()
	var p struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "grafana/provisioning/dashboards/alignsync.yml", &p)
	if len(p.Providers) != 1 {
		t.Fatalf("want one dashboard provider, got %d", len(p.Providers))
	}
	return p.Providers[0].Options.Path
}
