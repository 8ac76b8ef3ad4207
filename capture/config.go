package capture

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// DefaultTables are the Illumera tables capture publishes by default.
var DefaultTables = []string{"companies", "talent", "projects", "project_roles", "engagements", "time_entries"}

// Config is everything capture needs; zero fields take the defaults of
// DefaultConfig.
type Config struct {
	DatabaseURL string   // where the source tables live; the role needs REPLICATION (see doc.go)
	Brokers     []string // Kafka bootstrap addresses
	Topic       string   // change topic, default illumera.cdc
	DLQTopic    string   // dead-letter topic, default illumera.cdc.dlq
	Slot        string   // logical replication slot, default alignsync
	Publication string   // publication, default alignsync
	Tables      []string // tables to publish, default DefaultTables

	HeartbeatInterval time.Duration // pg_logical_emit_message period, default 10s
	StatusInterval    time.Duration // standby status period, default 10s
	SlotPollInterval  time.Duration // slot lag metrics period, default 10s
	LockPollInterval  time.Duration // how often a standby retries the lock, default 1s
	ReconnectMin      time.Duration // first reconnect delay, default 100ms
	ReconnectMax      time.Duration // longest reconnect delay, default 30s
	ShutdownTimeout   time.Duration // how long a stop waits for Kafka acks, default 30s

	MaxInflightBytes int           // produced but not yet acknowledged bytes before reading pauses, default 16 MiB
	MaxMessageBytes  int           // larger changes go to the DLQ, default 1,000,000 (Kafka's message.max.bytes)
	BatchSize        int           // kafka-go Writer.BatchSize, default 1000
	BatchTimeout     time.Duration // kafka-go Writer.BatchTimeout, default 5ms
}

// DefaultConfig is the configuration of a stock deployment, without the
// addresses.
func DefaultConfig() Config {
	return Config{
		Topic:             "illumera.cdc",
		DLQTopic:          "illumera.cdc.dlq",
		Slot:              "alignsync",
		Publication:       "alignsync",
		Tables:            append([]string(nil), DefaultTables...),
		HeartbeatInterval: 10 * time.Second,
		StatusInterval:    10 * time.Second,
		SlotPollInterval:  10 * time.Second,
		LockPollInterval:  time.Second,
		ReconnectMin:      100 * time.Millisecond,
		ReconnectMax:      30 * time.Second,
		ShutdownTimeout:   30 * time.Second,
		MaxInflightBytes:  16 << 20,
		MaxMessageBytes:   1_000_000,
		BatchSize:         1000,
		BatchTimeout:      5 * time.Millisecond,
	}
}

// withDefaults fills every zero field from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setString(&c.Topic, d.Topic)
	setString(&c.DLQTopic, d.DLQTopic)
	setString(&c.Slot, d.Slot)
	setString(&c.Publication, d.Publication)
	if len(c.Tables) == 0 {
		c.Tables = d.Tables
	}
	for _, p := range []struct{ v, d *time.Duration }{
		{&c.HeartbeatInterval, &d.HeartbeatInterval}, {&c.StatusInterval, &d.StatusInterval},
		{&c.SlotPollInterval, &d.SlotPollInterval}, {&c.LockPollInterval, &d.LockPollInterval},
		{&c.ReconnectMin, &d.ReconnectMin}, {&c.ReconnectMax, &d.ReconnectMax},
		{&c.ShutdownTimeout, &d.ShutdownTimeout}, {&c.BatchTimeout, &d.BatchTimeout},
	} {
		if *p.v == 0 {
			*p.v = *p.d
		}
	}
	for _, p := range []struct{ v, d *int }{
		{&c.MaxInflightBytes, &d.MaxInflightBytes}, {&c.MaxMessageBytes, &d.MaxMessageBytes}, {&c.BatchSize, &d.BatchSize},
	} {
		if *p.v == 0 {
			*p.v = *p.d
		}
	}
	return c
}

func setString(v *string, d string) {
	if *v == "" {
		*v = d
	}
}

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Validate lists every problem of a configuration with its defaults applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if strings.TrimSpace(c.DatabaseURL) == "" {
		errs = append(errs, errors.New("database URL is required"))
	}
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("at least one Kafka broker is required"))
	}
	for name, v := range map[string]string{"slot": c.Slot, "publication": c.Publication} {
		if !identifier.MatchString(v) {
			errs = append(errs, fmt.Errorf("%s %q: use lower-case letters, digits and underscores (at most 63)", name, v))
		}
	}
	for name, d := range map[string]time.Duration{
		"heartbeat interval": c.HeartbeatInterval, "status interval": c.StatusInterval,
		"slot poll interval": c.SlotPollInterval, "lock poll interval": c.LockPollInterval,
		"batch timeout": c.BatchTimeout, "reconnect min": c.ReconnectMin,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s %s: must be positive", name, d))
		}
	}
	if c.ReconnectMax < c.ReconnectMin {
		errs = append(errs, fmt.Errorf("reconnect max %s is below reconnect min %s", c.ReconnectMax, c.ReconnectMin))
	}
	if c.MaxMessageBytes < 1024 || c.MaxInflightBytes < c.MaxMessageBytes {
		errs = append(errs, fmt.Errorf("max message bytes %d must be at least 1024 and at most max in-flight bytes %d", c.MaxMessageBytes, c.MaxInflightBytes))
	}
	if c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("batch size %d: must be at least 1", c.BatchSize))
	}
	return errors.Join(errs...)
}

var dsnPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// RedactURL hides the password of a database URL or keyword/value DSN for
// logs and reports.
func RedactURL(raw string) string {
	if !strings.Contains(raw, "://") {
		return dsnPassword.ReplaceAllString(raw, "${1}xxxxx")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// LogValue lets slog log the configuration without secrets.
func (c Config) LogValue() slog.Value {
	c = c.withDefaults()
	return slog.GroupValue(
		slog.String("database", RedactURL(c.DatabaseURL)),
		slog.String("brokers", strings.Join(c.Brokers, ",")),
		slog.String("topic", c.Topic), slog.String("dlq_topic", c.DLQTopic),
		slog.String("slot", c.Slot), slog.String("publication", c.Publication),
		slog.String("tables", strings.Join(c.Tables, ",")),
		slog.Duration("heartbeat_interval", c.HeartbeatInterval),
		slog.Duration("status_interval", c.StatusInterval),
		slog.Int("max_inflight_bytes", c.MaxInflightBytes),
		slog.Int("max_message_bytes", c.MaxMessageBytes),
	)
}
