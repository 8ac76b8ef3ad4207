// Command alignsync is the one binary of the pipeline: one subcommand per job.
// Subcommands parse flags and wire packages together; the logic lives in the
// packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand. run returns the process exit status.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

// register adds a subcommand; each lives in its own file.
func register(c command) { commands[c.name] = c }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "alignsync: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "alignsync keeps Illumera (PostgreSQL) and Align in sync through Kafka.")
	fmt.Fprintln(w, "\nUsage: alignsync <command> [flags]   (alignsync <command> --help for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-13s %s\n", n, commands[n].summary)
	}
}

// parseFlags parses args, runs validate (which records problems with
// f.Problem or f.Require) and reports: it returns -1 when the command should go
// on, otherwise the exit status (0 after --help, 2 listing every problem).
func parseFlags(f *flagSet, args []string, stdout, stderr io.Writer, validate func()) int {
	if err := f.Parse(args); errors.Is(err, flag.ErrHelp) {
		f.Usage(stdout)
		return 0
	}
	if validate != nil {
		validate()
	}
	if f.Err() != nil {
		return configError(f, stderr)
	}
	return -1
}

// configError prints every recorded problem and returns exit status 2.
func configError(f *flagSet, stderr io.Writer) int {
	fmt.Fprintf(stderr, "alignsync %s: invalid configuration:\n", f.name)
	for _, line := range splitLines(f.Err().Error()) {
		fmt.Fprintf(stderr, "  - %s\n", line)
	}
	fmt.Fprintf(stderr, "Run 'alignsync %s --help' for the flags.\n", f.name)
	return 2
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
