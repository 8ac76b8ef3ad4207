package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/illumera/alignsync/internal/devenv"
)

func init() {
	register(command{name: "alignsim", summary: "run the Align simulator (for development and tests)", run: runAlignsim})
}

func runAlignsim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var addr string
	f := newFlagSet("alignsim", "Serves an in-memory Align (docs/align-contract.md §1–§8) under /api/v1 and its control API\n"+
		"under /_sim (orgs, keys, manager actions, faults, state dump). Bind it to loopback: the\n"+
		"control API has no authentication.")
	f.String(&addr, "addr", "ALIGNSYNC_ALIGNSIM_ADDR", "127.0.0.1:8089", "listen address")
	if code := parseFlags(f, args, stdout, stderr, func() { f.Require(addr, "addr") }); code >= 0 {
		return code
	}
	logger := f.Logger(stderr)
	a, err := devenv.StartAlign(addr)
	if err != nil {
		logger.Error("alignsim could not start", slog.Any("error", err))
		return 1
	}
	defer a.Close()
	fmt.Fprintf(stdout, "alignsim: API %s  control %s/_sim  (Ctrl-C stops)\n", a.BaseURL, a.URL)
	<-ctx.Done()
	return 0
}
