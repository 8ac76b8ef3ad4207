package deploy

import (
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/illumera/alignsync/reconcile"
)

// Kafka keeps topics and consumer offsets (the sink's committed positions) on
// a volume: a re-created container must not start empty.
func TestComposeKafkaLogDirsOnVolume(t *testing.T) {
	cfg := composeConfig(t)
	kafka := cfg.Services["kafka"]
	if !strings.HasPrefix(kafka.Image, "apache/kafka:") {
		t.Fatalf("kafka image %s: this test knows where apache/kafka keeps its data, teach it this image's", kafka.Image)
	}
	dirs := kafka.Environment["KAFKA_LOG_DIRS"]
	if strings.TrimSpace(dirs) == "" {
		t.Fatal("KAFKA_LOG_DIRS is unset: apache/kafka then writes its logs under /tmp inside the container")
	}
	mounts := kafka.mounts()
	for _, dir := range strings.Split(dirs, ",") {
		dir = path.Clean(strings.TrimSpace(dir))
		if !onVolume(dir, mounts, cfg.Volumes) {
			t.Errorf("Kafka log dir %s is not on a volume (kafka mounts %v)", dir, mounts)
		}
	}
}

// onVolume reports whether dir is at or under the target of a named volume
// the file declares, or of a host directory.
func onVolume(dir string, mounts map[string]string, volumes map[string]any) bool {
	for target, source := range mounts {
		target = path.Clean(target)
		if dir != target && !strings.HasPrefix(dir, target+"/") {
			continue
		}
		if _, named := volumes[source]; named || strings.HasPrefix(source, "/") {
			return true
		}
	}
	return false
}

// Align must reach the webhooks: without ALIGNSYNC_PUBLIC_BASE_URL the file
// is refused with a message naming it, instead of defaulting to a name only
// the compose network resolves.
func TestComposeRequiresPublicBaseURL(t *testing.T) {
	secrets := map[string]string{}
	for k, v := range composeSecrets {
		if k != "ALIGNSYNC_PUBLIC_BASE_URL" {
			secrets[k] = v
		}
	}
	out, err := dockerCompose(t, secrets, "config")
	if err == nil {
		t.Fatalf("docker-compose config accepted the file without ALIGNSYNC_PUBLIC_BASE_URL:\n%s", out)
	}
	if !strings.Contains(string(out), "set ALIGNSYNC_PUBLIC_BASE_URL in deploy/.env") {
		t.Errorf("the refusal does not say what to set:\n%s", out)
	}
	if got := composeConfig(t).Services["serve"].Environment["ALIGNSYNC_PUBLIC_BASE_URL"]; got != composeSecrets["ALIGNSYNC_PUBLIC_BASE_URL"] {
		t.Errorf("serve's ALIGNSYNC_PUBLIC_BASE_URL is %q, not the value from .env", got)
	}
}

// Both deployments reconcile every night by default, and both repair: the
// CronJob runs `reconcile --repair`, compose's serve --reconcile-at with
// --reconcile-repair.
func TestComposeReconcilesNightlyLikeTheCronJob(t *testing.T) {
	env := composeConfig(t).Services["serve"].Environment
	at := env["ALIGNSYNC_RECONCILE_AT"]
	if _, err := reconcile.ParseSchedule(at); err != nil {
		t.Fatalf("serve's ALIGNSYNC_RECONCILE_AT %q: %v (compose would not reconcile)", at, err)
	}
	objects, _ := manifests(t)
	cron := find(t, objects, "CronJob", "alignsync-reconcile")
	args := list(podSpec(cron), "containers")[0].(map[string]any)["args"].([]any)
	cronRepairs := slices.Contains(args, any("--repair"))
	if composeRepairs := env["ALIGNSYNC_RECONCILE_REPAIR"] == "true"; composeRepairs != cronRepairs {
		t.Errorf("the CronJob repairs: %v, compose's nightly run repairs: %v; they should agree", cronRepairs, composeRepairs)
	}
}

var requiredInCompose = regexp.MustCompile(`\$\{([A-Z0-9_]+):\?`)

// .env.example lists every variable the compose file requires, and shows an
// example of the public base URL.
func TestEnvExampleListsEveryRequiredVariable(t *testing.T) {
	compose, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(".env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range requiredInCompose.FindAllStringSubmatch(string(compose), -1) {
		if !regexp.MustCompile(`(?m)^` + m[1] + `=`).Match(example) {
			t.Errorf(".env.example has no %s= line, which docker-compose.yml requires", m[1])
		}
	}
	if !regexp.MustCompile(`(?m)^#\s+ALIGNSYNC_PUBLIC_BASE_URL=https://\S+`).Match(example) {
		t.Error(".env.example shows no example of ALIGNSYNC_PUBLIC_BASE_URL (https://...)")
	}
}
