package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// object is one decoded Kubernetes manifest; get walks it by keys.
type object struct {
	file string
	doc  map[string]any
}

func (o object) kind() string { return str(o.doc, "kind") }
func (o object) name() string { return str(o.doc, "metadata", "name") }
func (o object) String() string {
	return fmt.Sprintf("%s %s (%s)", o.kind(), o.name(), o.file)
}

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func str(v any, path ...string) string {
	s, _ := get(v, path...).(string)
	return s
}

func list(v any, path ...string) []any {
	l, _ := get(v, path...).([]any)
	return l
}

// manifests decodes every YAML document under k8s/, kustomization files
// apart.
func manifests(t *testing.T) (objects []object, kustomizations map[string]map[string]any) {
	t.Helper()
	kustomizations = map[string]map[string]any{}
	err := filepath.WalkDir("k8s", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (filepath.Ext(path) != ".yaml" && filepath.Ext(path) != ".yml") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return fmt.Errorf("decoding %s: %w", path, err)
			}
			if doc == nil {
				continue
			}
			if filepath.Base(path) == "kustomization.yaml" {
				kustomizations[path] = doc
				continue
			}
			if str(doc, "apiVersion") == "" || str(doc, "kind") == "" || str(doc, "metadata", "name") == "" {
				return fmt.Errorf("%s: a document without apiVersion, kind or metadata.name", path)
			}
			objects = append(objects, object{file: path, doc: doc})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(objects) == 0 || len(kustomizations) == 0 {
		t.Fatal("no manifests or no kustomization under deploy/k8s")
	}
	return objects, kustomizations
}

func find(t *testing.T, objects []object, kind, name string) object {
	t.Helper()
	for _, o := range objects {
		if o.kind() == kind && o.name() == name {
			return o
		}
	}
	t.Fatalf("no %s %s in deploy/k8s", kind, name)
	return object{}
}

// podSpec returns the pod template's spec of a Deployment or a CronJob.
func podSpec(o object) map[string]any {
	path := []string{"spec", "template", "spec"}
	if o.kind() == "CronJob" {
		path = []string{"spec", "jobTemplate", "spec", "template", "spec"}
	}
	m, _ := get(o.doc, path...).(map[string]any)
	return m
}

func podLabels(o object) map[string]any {
	path := []string{"spec", "template", "metadata", "labels"}
	if o.kind() == "CronJob" {
		path = []string{"spec", "jobTemplate", "spec", "template", "metadata", "labels"}
	}
	m, _ := get(o.doc, path...).(map[string]any)
	return m
}

func workloads(objects []object) []object {
	var out []object
	for _, o := range objects {
		if o.kind() == "Deployment" || o.kind() == "CronJob" {
			out = append(out, o)
		}
	}
	return out
}

func TestKustomizationsListEveryManifest(t *testing.T) {
	objects, kustomizations := manifests(t)
	listed := map[string]bool{}
	for path, k := range kustomizations {
		dir := filepath.Dir(path)
		for _, r := range list(k, "resources") {
			res := filepath.Join(dir, r.(string))
			if _, err := os.Stat(res); err != nil {
				t.Errorf("%s lists %s: %v", path, r, err)
			}
			listed[res] = true
		}
	}
	for _, o := range objects {
		if !listed[o.file] {
			t.Errorf("%s is in no kustomization's resources", o.file)
		}
	}
}

func TestCaptureIsOneReplicaRecreated(t *testing.T) {
	objects, _ := manifests(t)
	c := find(t, objects, "Deployment", "alignsync-capture")
	if r, _ := get(c.doc, "spec", "replicas").(int); r != 1 {
		t.Errorf("capture replicas = %v, want 1", get(c.doc, "spec", "replicas"))
	}
	if s := str(c.doc, "spec", "strategy", "type"); s != "Recreate" {
		t.Errorf("capture strategy = %q, want Recreate: a rolling update would start a second instance", s)
	}
	for _, o := range objects {
		if o.kind() == "HorizontalPodAutoscaler" && str(o.doc, "spec", "scaleTargetRef", "name") == c.name() {
			t.Errorf("%s scales capture", o)
		}
	}
}

func TestSinkAndServeScale(t *testing.T) {
	objects, _ := manifests(t)
	for _, name := range []string{"alignsync-sink", "alignsync-serve"} {
		d := find(t, objects, "Deployment", name)
		if s := str(d.doc, "spec", "strategy", "type"); s == "Recreate" {
			t.Errorf("%s uses Recreate: a rollout would stop every instance", name)
		}
		replicas, _ := get(d.doc, "spec", "replicas").(int)
		autoscaled := false
		for _, o := range objects {
			if o.kind() == "HorizontalPodAutoscaler" && str(o.doc, "spec", "scaleTargetRef", "name") == name {
				min, _ := get(o.doc, "spec", "minReplicas").(int)
				max, _ := get(o.doc, "spec", "maxReplicas").(int)
				autoscaled = min >= 2 && max > min
			}
		}
		if replicas < 2 && !autoscaled {
			t.Errorf("%s runs %d replica(s) and no autoscaler gives it 2 or more", name, replicas)
		}
	}
}

func TestReconcileIsACronJob(t *testing.T) {
	objects, _ := manifests(t)
	c := find(t, objects, "CronJob", "alignsync-reconcile")
	if str(c.doc, "spec", "schedule") == "" {
		t.Error("reconcile CronJob has no schedule")
	}
	if p := str(c.doc, "spec", "concurrencyPolicy"); p != "Forbid" {
		t.Errorf("reconcile concurrencyPolicy = %q, want Forbid", p)
	}
	containers := list(podSpec(c), "containers")
	if len(containers) != 1 {
		t.Fatalf("reconcile CronJob has %d containers, want 1", len(containers))
	}
	if args := list(containers[0], "args"); len(args) == 0 || args[0] != "reconcile" {
		t.Errorf("reconcile CronJob runs %v, want alignsync reconcile", args)
	}
}

// Every container of every workload: a subcommand the binary has, variables
// its --help lists, secrets only through secretKeyRef, resources, non-root.
func TestContainersAreConfiguredFromTheBinarysFlags(t *testing.T) {
	objects, _ := manifests(t)
	ws := workloads(objects)
	if len(ws) < 4 {
		t.Fatalf("found %d workloads, want capture, sink, serve and reconcile", len(ws))
	}
	for _, w := range ws {
		spec := podSpec(w)
		if get(spec, "securityContext", "runAsNonRoot") != true {
			t.Errorf("%s: pod securityContext.runAsNonRoot is not true", w)
		}
		all := append(slices.Clone(list(spec, "initContainers")), list(spec, "containers")...)
		for _, c := range all {
			where := fmt.Sprintf("%s container %s", w, str(c, "name"))
			if img := str(c, "image"); img != "alignsync" {
				t.Errorf("%s: image %q, want alignsync (the overlay pins the tag)", where, img)
			}
			args := list(c, "args")
			if len(args) == 0 {
				t.Errorf("%s: no args naming the subcommand", where)
				continue
			}
			known := helpEnv(t, args[0].(string))
			for _, e := range list(c, "env") {
				name := str(e, "name")
				if !known[name] {
					t.Errorf("%s: %s is not listed by `alignsync %s --help`", where, name, args[0])
				}
				if secretEnv[name] {
					if get(e, "value") != nil || str(e, "valueFrom", "secretKeyRef", "name") == "" || str(e, "valueFrom", "secretKeyRef", "key") == "" {
						t.Errorf("%s: %s must come from a Secret by name (secretKeyRef)", where, name)
					}
				}
			}
			for _, r := range []string{"requests.cpu", "requests.memory", "limits.memory"} {
				kind, res, _ := strings.Cut(r, ".")
				if str(c, "resources", kind, res) == "" {
					t.Errorf("%s: no resources.%s", where, r)
				}
			}
			if get(c, "securityContext", "allowPrivilegeEscalation") != false {
				t.Errorf("%s: allowPrivilegeEscalation is not false", where)
			}
		}
	}
	for _, o := range objects {
		if o.kind() == "Secret" {
			t.Errorf("%s: secrets are referenced by name, never committed", o)
		}
	}
}

// Long-running containers bind every interface on a named port, and their
// probes use /healthz and /readyz on it.
func TestLongRunningContainersHaveProbes(t *testing.T) {
	objects, _ := manifests(t)
	n := 0
	for _, w := range workloads(objects) {
		if w.kind() != "Deployment" {
			continue
		}
		for _, c := range list(podSpec(w), "containers") {
			n++
			where := fmt.Sprintf("%s container %s", w, str(c, "name"))
			ports := map[string]string{}
			for _, p := range list(c, "ports") {
				ports[str(p, "name")] = fmt.Sprint(get(p, "containerPort"))
			}
			for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
				if got := str(c, probe, "httpGet", "path"); got != path {
					t.Errorf("%s: %s path %q, want %s", where, probe, got, path)
				}
				if port := str(c, probe, "httpGet", "port"); ports[port] == "" {
					t.Errorf("%s: %s port %q is not a named container port", where, probe, port)
				}
			}
			env, ok := listenEnv[list(c, "args")[0].(string)]
			if !ok {
				t.Errorf("%s: no known listen address for %v", where, list(c, "args"))
				continue
			}
			addr := ""
			for _, e := range list(c, "env") {
				if str(e, "name") == env {
					addr = str(e, "value")
				}
			}
			port, err := listenPort(addr)
			if err != nil {
				t.Errorf("%s: %s: %v", where, env, err)
			} else if !slices.Contains(mapsValues(ports), port) {
				t.Errorf("%s: listens on port %s, which no container port declares (%v)", where, port, ports)
			}
		}
	}
	if n < 3 {
		t.Errorf("found %d long-running containers, want capture, sink and serve", n)
	}
}

func TestPodMonitorScrapesEveryLongRunningPod(t *testing.T) {
	objects, _ := manifests(t)
	var pm object
	for _, o := range objects {
		if o.kind() == "PodMonitor" {
			pm = o
		}
	}
	if pm.doc == nil {
		t.Fatal("no PodMonitor in deploy/k8s")
	}
	selector, _ := get(pm.doc, "spec", "selector", "matchLabels").(map[string]any)
	endpoints := map[string]bool{}
	for _, e := range list(pm.doc, "spec", "podMetricsEndpoints") {
		if p := str(e, "path"); p != "" && p != "/metrics" {
			t.Errorf("PodMonitor endpoint %s scrapes %s, want /metrics", str(e, "port"), p)
		}
		endpoints[str(e, "port")] = true
	}
	for _, name := range []string{"alignsync-capture", "alignsync-sink", "alignsync-serve"} {
		d := find(t, objects, "Deployment", name)
		labels := podLabels(d)
		for k, v := range selector {
			if labels[k] != v {
				t.Errorf("PodMonitor selector %s=%v does not match %s's pods (%v)", k, v, name, labels)
			}
		}
		scraped := false
		for _, c := range list(podSpec(d), "containers") {
			for _, p := range list(c, "ports") {
				scraped = scraped || endpoints[str(p, "name")]
			}
		}
		if !scraped {
			t.Errorf("no PodMonitor endpoint port matches a port of %s", name)
		}
	}
}

func mapsValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
