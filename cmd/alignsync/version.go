package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func init() {
	register(command{name: "version", summary: "print the version and build information", run: runVersion})
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("version", "Prints alignsync's version, the Go version and the VCS revision it was built from.")
	if code := parseFlags(f, args, stdout, stderr, nil); code >= 0 {
		return code
	}
	rev := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	fmt.Fprintf(stdout, "alignsync %s (%s, revision %s)\n", version, runtime.Version(), rev)
	return 0
}
