package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// flagSet is a flag.FlagSet where every flag has an environment fallback and
// every problem (bad flag value, bad environment value, failed validation) is
// collected, so a misconfigured command lists them all at once and exits 2.
type flagSet struct {
	fs       *flag.FlagSet
	name     string
	synopsis string
	envs     map[string]string
	problems []error
	logLevel string
}

// recording wraps a flag.Value so that a bad value is recorded and parsing goes
// on to the next flag instead of stopping at the first problem.
type recording struct {
	flag.Value
	set  *flagSet
	name string
}

func (r recording) String() string {
	if r.Value == nil {
		return ""
	}
	return r.Value.String()
}

func (r recording) Set(s string) error {
	if err := r.Value.Set(s); err != nil {
		r.set.problems = append(r.set.problems, fmt.Errorf("--%s %q: %v", r.name, s, err))
	}
	return nil
}

func newFlagSet(name, synopsis string) *flagSet {
	f := &flagSet{fs: flag.NewFlagSet(name, flag.ContinueOnError), name: name, synopsis: synopsis, envs: map[string]string{}}
	f.fs.SetOutput(io.Discard)
	f.logLevel = "info"
	f.add((*levelValue)(&f.logLevel), "log-level", "ALIGNSYNC_LOG_LEVEL", "log level: debug, info, warn or error")
	return f
}

func (f *flagSet) add(v flag.Value, name, env, usage string) {
	if env != "" {
		f.envs[name] = env
		usage += " [$" + env + "]"
	}
	f.fs.Var(recording{Value: v, set: f, name: name}, name, usage)
}

func (f *flagSet) String(p *string, name, env, def, usage string) {
	*p = def
	f.add((*stringValue)(p), name, env, usage)
}

func (f *flagSet) Int(p *int, name, env string, def int, usage string) {
	*p = def
	f.add((*intValue)(p), name, env, usage)
}

func (f *flagSet) Duration(p *time.Duration, name, env string, def time.Duration, usage string) {
	*p = def
	f.add((*durationValue)(p), name, env, usage)
}

func (f *flagSet) Bool(p *bool, name, env string, def bool, usage string) {
	*p = def
	f.add((*boolValue)(p), name, env, usage)
}

// List is a comma-separated list flag.
func (f *flagSet) List(p *[]string, name, env string, def []string, usage string) {
	*p = def
	f.add((*listValue)(p), name, env, usage)
}

// Problem records a validation failure found after parsing.
func (f *flagSet) Problem(format string, args ...any) {
	f.problems = append(f.problems, fmt.Errorf(format, args...))
}

// Require records a problem when a required value is empty.
func (f *flagSet) Require(value, name string) {
	if strings.TrimSpace(value) == "" {
		env := ""
		if e := f.envs[name]; e != "" {
			env = " (or $" + e + ")"
		}
		f.Problem("--%s%s is required", name, env)
	}
}

// Parse parses args, then fills every flag not given on the command line from
// its environment variable. It returns flag.ErrHelp for -h/--help.
func (f *flagSet) Parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		f.problems = append(f.problems, err)
	}
	if f.fs.NArg() > 0 {
		f.Problem("unexpected argument %q", f.fs.Arg(0))
	}
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	for name, env := range f.envs {
		if v, ok := os.LookupEnv(env); ok && !given[name] {
			if err := f.fs.Lookup(name).Value.(recording).Value.Set(v); err != nil {
				f.Problem("$%s=%q: %v", env, v, err)
			}
		}
	}
	return f.Err()
}

// Err joins every problem recorded so far.
func (f *flagSet) Err() error { return errors.Join(f.problems...) }

// Usage writes the command's help: every flag with its default and its
// environment variable.
func (f *flagSet) Usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: alignsync %s [flags]\n\n%s\n\nFlags (each falls back to the environment variable in brackets):\n", f.name, f.synopsis)
	f.fs.VisitAll(func(fl *flag.Flag) {
		def := ""
		if fl.DefValue != "" {
			def = fmt.Sprintf(" (default %q)", fl.DefValue)
		}
		fmt.Fprintf(w, "  --%s%s\n      %s\n", fl.Name, def, fl.Usage)
	})
}

// Logger builds the JSON logger at the chosen level.
func (f *flagSet) Logger(w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(f.logLevel)) // levelValue admits only names slog knows
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// levelValue is a log level by name. It accepts exactly the four names the
// help lists, so a mistake is reported in those words (slog would also take
// "INFO+2" and would word a refusal its own way).
type levelValue string

var logLevels = []string{"debug", "info", "warn", "error"}

func (v *levelValue) Set(s string) error {
	l := strings.ToLower(strings.TrimSpace(s))
	if !slices.Contains(logLevels, l) {
		return errors.New("not a log level: use debug, info, warn or error")
	}
	*v = levelValue(l)
	return nil
}
func (v *levelValue) String() string { return string(*v) }

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }

type intValue int

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not an integer")
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) String() string { return strconv.Itoa(int(*v)) }

type durationValue time.Duration

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration (examples: 500ms, 10s, 5m)")
	}
	*v = durationValue(d)
	return nil
}
func (v *durationValue) String() string { return time.Duration(*v).String() }

type boolValue bool

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("not a boolean (true or false)")
	}
	*v = boolValue(b)
	return nil
}
func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }

type listValue []string

func (v *listValue) Set(s string) error {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	*v = out
	return nil
}
func (v *listValue) String() string { return strings.Join(*v, ",") }

// IsBoolFlag lets `--flag` stand for `--flag=true` through the wrapper.
func (r recording) IsBoolFlag() bool {
	b, ok := r.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
