package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const (
	configBegin = "<!-- config-reference:begin (generated: ALIGNSYNC_UPDATE_README=1 go test ./cmd/alignsync -run TestReadmeConfigReference) -->"
	configEnd   = "<!-- config-reference:end -->"
)

var (
	flagLine  = regexp.MustCompile(`^  --([a-z0-9-]+)(?: \(default "(.*)"\))?$`)
	usageLine = regexp.MustCompile(`^      (.*?)(?: \[\$([A-Z0-9_]+)\])?$`)
)

// configReference renders every subcommand's flags from their --help.
func configReference(t *testing.T) string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		var out bytes.Buffer
		if code := run(context.Background(), []string{name, "--help"}, &out, &out); code != 0 {
			t.Fatalf("alignsync %s --help exited %d: %s", name, code, out.String())
		}
		fmt.Fprintf(&b, "\n#### `alignsync %s`: %s\n\n| flag | environment | default | meaning |\n|---|---|---|---|\n", name, commands[name].summary)
		lines := strings.Split(out.String(), "\n")
		for i := 0; i < len(lines); i++ {
			m := flagLine.FindStringSubmatch(lines[i])
			if m == nil || i+1 >= len(lines) {
				continue
			}
			u := usageLine.FindStringSubmatch(lines[i+1])
			env := "—"
			if u[2] != "" {
				env = "`" + u[2] + "`"
			}
			def := "—"
			if m[2] != "" {
				def = "`" + m[2] + "`"
			}
			fmt.Fprintf(&b, "| `--%s` | %s | %s | %s |\n", m[1], env, def, strings.ReplaceAll(u[1], "|", `\|`))
			i++
		}
	}
	return b.String()
}

// TestReadmeConfigReference keeps README's configuration reference equal to
// what the binary's flags say.
func TestReadmeConfigReference(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	begin, end := strings.Index(text, configBegin), strings.Index(text, configEnd)
	if begin < 0 || end < begin {
		t.Fatalf("README.md lacks the markers %q and %q", configBegin, configEnd)
	}
	want := configBegin + "\n" + configReference(t) + "\n" + configEnd
	got := text[begin : end+len(configEnd)]
	if got == want {
		return
	}
	if os.Getenv("ALIGNSYNC_UPDATE_README") != "" {
		if err := os.WriteFile("../../README.md", []byte(text[:begin]+want+text[end+len(configEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("README.md's configuration reference is stale: run ALIGNSYNC_UPDATE_README=1 go test ./cmd/alignsync -run TestReadmeConfigReference")
}
