package deploy

import (
	"bufio"
	"debug/elf"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

type dockerStage struct {
	from         string
	instructions []string // upper-cased keyword + arguments, continuation lines joined
}

func dockerStages(t *testing.T) []dockerStage {
	t.Helper()
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []dockerStage
	var line strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(text, `\`); ok {
			line.WriteString(cont + " ")
			continue
		}
		line.WriteString(text)
		ins := line.String()
		line.Reset()
		keyword, args, _ := strings.Cut(ins, " ")
		keyword = strings.ToUpper(keyword)
		if keyword == "FROM" {
			stages = append(stages, dockerStage{from: strings.Fields(args)[0]})
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %s before the first FROM", keyword)
		}
		s := &stages[len(stages)-1]
		s.instructions = append(s.instructions, keyword+" "+args)
	}
	return stages
}

func TestDockerfileIsMultiStageStaticNonRoot(t *testing.T) {
	stages := dockerStages(t)
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a runtime stage", len(stages))
	}
	build, runtime := stages[0], stages[len(stages)-1]

	goMod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(goMod)
	if goVersion == nil || !strings.HasPrefix(build.from, "golang:"+string(goVersion[1])) {
		t.Errorf("build stage FROM %s, want golang:%s (go.mod)", build.from, goVersion[1])
	}
	static := false
	for _, ins := range build.instructions {
		if strings.HasPrefix(ins, "RUN ") && strings.Contains(ins, "go build") {
			static = strings.Contains(ins, "CGO_ENABLED=0") && strings.Contains(ins, "./cmd/alignsync")
		}
	}
	if !static {
		t.Error("the build stage does not build ./cmd/alignsync with CGO_ENABLED=0")
	}

	if !strings.HasPrefix(runtime.from, "gcr.io/distroless/static") && runtime.from != "scratch" {
		t.Errorf("runtime stage FROM %s, want distroless/static or scratch", runtime.from)
	}
	user := ""
	entrypoint := ""
	for _, ins := range runtime.instructions {
		if u, ok := strings.CutPrefix(ins, "USER "); ok {
			user = strings.TrimSpace(u)
		}
		if e, ok := strings.CutPrefix(ins, "ENTRYPOINT "); ok {
			entrypoint = e
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("runtime USER %q, want a numeric non-root uid (runAsNonRoot can verify only numbers)", user)
	}
	if !strings.Contains(entrypoint, "alignsync") {
		t.Errorf("ENTRYPOINT %s does not run alignsync", entrypoint)
	}
}

// The binary the Dockerfile builds must run on an image without libc.
func TestBinaryBuildsStatic(t *testing.T) {
	f, err := elf.Open(alignsyncBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary has a dynamic loader (PT_INTERP): it is not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("binary links shared libraries %v", libs)
	}
}

// buildKitOnly are instruction options only BuildKit understands; the classic
// builder of docker-compose 1.x fails on them.
var buildKitOnly = map[string][]string{
	"RUN":  {"--mount", "--network", "--security"},
	"COPY": {"--link", "--chmod", "--exclude", "--parents"},
	"ADD":  {"--link", "--chmod", "--exclude", "--keep-git-dir", "--checksum"},
}

// The image builds with the tools people have: `docker-compose up --build`
// with docker-compose 1.x uses the classic builder, which knows no syntax
// directive, cache mounts or heredocs, and reads .dockerignore only at the
// root of the build context.
func TestDockerfileBuildsWithoutBuildKit(t *testing.T) {
	raw, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`(?im)^#\s*syntax\s*=`).Match(raw) {
		t.Error("the Dockerfile has a # syntax= directive, which needs BuildKit")
	}
	for _, st := range dockerStages(t) {
		for _, ins := range st.instructions {
			keyword, args, _ := strings.Cut(ins, " ")
			for _, opt := range buildKitOnly[keyword] {
				if strings.Contains(args, opt) {
					t.Errorf("%s %s: %s needs BuildKit", keyword, args, opt)
				}
			}
			if strings.Contains(args, "<<") {
				t.Errorf("%s %s: heredocs need BuildKit", keyword, args)
			}
		}
	}
	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatalf("no .dockerignore at the build context's root (the repository): %v", err)
	}
	for _, want := range []string{".git", "/deploy/.env"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).Match(ignore) {
			t.Errorf(".dockerignore does not keep %s out of the build context", want)
		}
	}
	// BuildKit would prefer it to the root's, and two lists drift apart.
	if _, err := os.Stat("Dockerfile.dockerignore"); err == nil {
		t.Error("deploy/Dockerfile.dockerignore exists: keep one list, the root .dockerignore")
	}
}
