package main

import (
	"bytes"
	"context"
	"net"
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

// TestBadLogLevelNamesItsSource: a bad level names the flag or the
// environment variable it came from and the accepted values, in our words
// rather than the logging library's.
func TestBadLogLevelNamesItsSource(t *testing.T) {
	t.Setenv("ALIGNSYNC_LOG_LEVEL", "loud")
	var out bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &out, &out); code != 2 {
		t.Fatalf("exit status %d, want 2; output:\n%s", code, out.String())
	}
	want := `$ALIGNSYNC_LOG_LEVEL="loud": not a log level: use debug, info, warn or error`
	if !strings.Contains(out.String(), want) || strings.Contains(out.String(), "slog") || strings.Contains(out.String(), "unknown name") {
		t.Errorf("output %q, want %q and nothing of slog's wording", out.String(), want)
	}
	out.Reset()
	if code := run(context.Background(), []string{"version", "--log-level", "verbose"}, &out, &out); code != 2 ||
		!strings.Contains(out.String(), `--log-level "verbose": not a log level: use debug, info, warn or error`) {
		t.Errorf("flag: exit %d, output %q", code, out.String())
	}
	for _, ok := range []string{"debug", "WARN", "error"} {
		t.Setenv("ALIGNSYNC_LOG_LEVEL", ok)
		out.Reset()
		if code := run(context.Background(), []string{"version"}, &out, &out); code != 0 {
			t.Errorf("ALIGNSYNC_LOG_LEVEL=%s: exit %d, output %q", ok, code, out.String())
		}
	}
}

// TestServeConfigProblems: Align must reach the webhooks, so there is no
// default public URL to fall back on; a repair without a nightly run, or a
// session lifetime out of bounds, is refused too.
func TestServeConfigProblems(t *testing.T) {
	t.Setenv("ALIGNSYNC_PUBLIC_BASE_URL", "")
	t.Setenv("ALIGNSYNC_RECONCILE_AT", "")
	var out bytes.Buffer
	code := run(context.Background(), []string{"serve", "--database-url", "postgres://127.0.0.1:1/x",
		"--encryption-keys", "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "--admin-jwt-secret", strings.Repeat("s", 32),
		"--reconcile-repair", "--admin-session-lifetime", "30s"}, &out, &out)
	if code != 2 {
		t.Fatalf("exit %d, want 2; output:\n%s", code, out.String())
	}
	for _, want := range []string{
		"--public-base-url (or $ALIGNSYNC_PUBLIC_BASE_URL) is required",
		"--reconcile-repair: there is no nightly reconciliation to repair with; set --reconcile-at too",
		"--admin-session-lifetime 30s: must be between 1m and 168h",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestUnreachableDatabaseReportedOnce: one line naming host and port.
func TestUnreachableDatabaseReportedOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	t.Setenv("DATABASE_URL", "postgres://u:p@"+addr+"/illumera")
	var out bytes.Buffer
	if code := run(context.Background(), []string{"retry-failed", "--company", "7f1c1b8e-8d0c-4a3e-9c57-0a3f0f1b2c3d"}, &out, &out); code != 1 {
		t.Fatalf("exit %d, output %q", code, out.String())
	}
	if got := strings.TrimSpace(out.String()); strings.Count(got, "\n") != 0 || strings.Count(got, "connection refused") != 1 ||
		!strings.Contains(got, addr) {
		t.Fatalf("output %q, want one line naming %s with the cause once", got, addr)
	}
}
