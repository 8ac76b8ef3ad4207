package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestInvalidConfigurationListsEveryProblem: exit status 2 and one line per
// problem, whether it came from a flag or the environment.
func TestInvalidConfigurationListsEveryProblem(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("ALIGNSYNC_EXECUTOR_SLOTS", "many")
	var out bytes.Buffer
	code := run(context.Background(), []string{"sink", "--retry-interval", "soon", "--align-max-attempts", "0"}, &out, &out)
	if code != 2 {
		t.Fatalf("exit status %d, want 2; output:\n%s", code, out.String())
	}
	for _, want := range []string{
		`--retry-interval "soon": not a duration`,
		`$ALIGNSYNC_EXECUTOR_SLOTS="many": not an integer`,
		"--align-max-attempts 0: must be at least 1",
		"--database-url (or $DATABASE_URL) is required",
		"--encryption-keys (or $ALIGNSYNC_ENCRYPTION_KEYS) is required",
		"--kafka-brokers (or $KAFKA_BROKERS) is required",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for name := range commands {
		var out bytes.Buffer
		if code := run(context.Background(), []string{name, "--help"}, &out, &out); code != 0 || !strings.Contains(out.String(), "Usage: alignsync "+name) {
			t.Errorf("alignsync %s --help: exit %d, output %q", name, code, out.String())
		}
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"nonsense"}, &out, &out); code != 2 || !strings.Contains(out.String(), `unknown command "nonsense"`) {
		t.Errorf("unknown command: exit %d, output %q", code, out.String())
	}
}

// TestEveryFlagHasAnEnvironmentVariable: configuration comes from flags with
// environment fallbacks, for every flag of every command.
func TestEveryFlagHasAnEnvironmentVariable(t *testing.T) {
	for name := range commands {
		var out bytes.Buffer
		run(context.Background(), []string{name, "--help"}, &out, &out)
		lines := strings.Split(out.String(), "\n")
		for i, line := range lines {
			if m := flagLine.FindStringSubmatch(line); m != nil && (i+1 >= len(lines) || !strings.Contains(lines[i+1], "[$")) {
				t.Errorf("alignsync %s --%s has no environment variable", name, m[1])
			}
		}
	}
}
