package capture

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Report is what Check found: whether capture can run against the database
// as configured, and what to run when it cannot.
type Report struct {
	Database          string        `json:"database"` // password redacted
	WALLevel          string        `json:"walLevel"`
	Role              string        `json:"role"`
	Replication       bool          `json:"replication"` // the role has REPLICATION (or is superuser)
	Publication       string        `json:"publication"`
	PublicationExists bool          `json:"publicationExists"`
	Slot              SlotReport    `json:"slot"`
	Tables            []TableReport `json:"tables"`
	Fixes             []string      `json:"fixes"` // statements to run; empty when ready
	Notes             []string      `json:"notes"` // things capture does itself, and fallbacks
}

// SlotReport describes the replication slot.
type SlotReport struct {
	Name              string `json:"name"`
	Exists            bool   `json:"exists"`
	Plugin            string `json:"plugin"`
	Active            bool   `json:"active"`
	WALStatus         string `json:"walStatus"` // lost: invalidated by PostgreSQL
	ConfirmedFlushLSN string `json:"confirmedFlushLsn"`
	RetainedWALBytes  int64  `json:"retainedWalBytes"`
}

// TableReport describes one configured table.
type TableReport struct {
	Name            string   `json:"name"` // schema-qualified when it exists
	Exists          bool     `json:"exists"`
	Published       bool     `json:"published"`
	ReplicaIdentity string   `json:"replicaIdentity"` // full, default, index or nothing
	PrimaryKey      []string `json:"primaryKey"`
	HasCompanyID    bool     `json:"hasCompanyId"`
}

// OK says whether capture can run without losing anything.
func (r Report) OK() bool { return len(r.Fixes) == 0 }

// Check inspects the database for capture: wal_level, the role's
// REPLICATION attribute, the publication and its tables, each table's
// REPLICA IDENTITY and key, and the slot. It changes nothing and returns an
// error only when it cannot inspect.
func Check(ctx context.Context, cfg Config) (Report, error) {
	cfg = cfg.withDefaults()
	r := Report{Database: RedactURL(cfg.DatabaseURL), Publication: cfg.Publication, Slot: SlotReport{Name: cfg.Slot}}
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return r, fmt.Errorf("connecting to the database: %w", err)
	}
	defer conn.Close(context.Background())
	steps := []func(context.Context, *pgx.Conn, *Report, Config) error{checkServer, checkPublication, checkTables, checkSlot}
	for _, step := range steps {
		if err := step(ctx, conn, &r, cfg); err != nil {
			return r, err
		}
	}
	return r, nil
}

func checkServer(ctx context.Context, conn *pgx.Conn, r *Report, _ Config) error {
	err := conn.QueryRow(ctx, `SELECT current_setting('wal_level'), current_user::text, r.rolreplication OR r.rolsuper
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&r.WALLevel, &r.Role, &r.Replication)
	if err != nil {
		return fmt.Errorf("reading server settings: %w", err)
	}
	if r.WALLevel != "logical" {
		r.Fixes = append(r.Fixes, "ALTER SYSTEM SET wal_level = logical;  -- then restart PostgreSQL")
	}
	if !r.Replication {
		r.Fixes = append(r.Fixes, "ALTER ROLE "+pgx.Identifier{r.Role}.Sanitize()+" REPLICATION;")
	}
	return nil
}

func checkPublication(ctx context.Context, conn *pgx.Conn, r *Report, cfg Config) error {
	return conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)`, cfg.Publication).Scan(&r.PublicationExists)
}

func checkTables(ctx context.Context, conn *pgx.Conn, r *Report, cfg Config) error {
	var unpublished []string
	for _, name := range cfg.Tables {
		t, err := inspectTable(ctx, conn, name, cfg.Publication)
		if err != nil {
			return err
		}
		r.Tables = append(r.Tables, t)
		ident := pgx.Identifier(strings.Split(t.Name, ".")).Sanitize()
		switch {
		case !t.Exists:
			r.Fixes = append(r.Fixes, fmt.Sprintf("-- table %q does not exist: create it or remove it from --tables", name))
			continue
		case !t.Published:
			unpublished = append(unpublished, ident)
		}
		if t.ReplicaIdentity != "full" {
			r.Fixes = append(r.Fixes, "ALTER TABLE "+ident+" REPLICA IDENTITY FULL;  -- updates and deletes then carry the old row")
		}
		if !t.HasCompanyID && len(t.PrimaryKey) == 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%s has neither company_id nor a primary key: its messages are keyed by the table name", t.Name))
		}
	}
	if len(unpublished) > 0 {
		list := strings.Join(unpublished, ", ")
		stmt := "ALTER PUBLICATION " + pgx.Identifier{cfg.Publication}.Sanitize() + " ADD TABLE " + list + ";"
		if !r.PublicationExists {
			stmt = "CREATE PUBLICATION " + pgx.Identifier{cfg.Publication}.Sanitize() + " FOR TABLE " + list + ";"
		}
		r.Fixes = append(r.Fixes, stmt+"  -- as the tables' owner; capture runs this itself when its role owns them")
	}
	return nil
}

func inspectTable(ctx context.Context, conn *pgx.Conn, name, pub string) (TableReport, error) {
	t := TableReport{Name: name}
	var ident string
	err := conn.QueryRow(ctx, `SELECT n.nspname || '.' || c.relname, c.relreplident::text,
			EXISTS (SELECT 1 FROM pg_publication_tables p WHERE p.pubname = $2 AND p.schemaname = n.nspname AND p.tablename = c.relname),
			EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'company_id' AND NOT a.attisdropped),
			coalesce((SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_index i
				JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
				WHERE i.indrelid = c.oid AND i.indisprimary), '{}')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`, name, pub).
		Scan(&t.Name, &ident, &t.Published, &t.HasCompanyID, &t.PrimaryKey)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, nil
	}
	if err != nil {
		return t, fmt.Errorf("inspecting table %s: %w", name, err)
	}
	t.Exists = true
	t.ReplicaIdentity = map[string]string{"f": "full", "d": "default", "i": "index", "n": "nothing"}[ident]
	return t, nil
}

func checkSlot(ctx context.Context, conn *pgx.Conn, r *Report, cfg Config) error {
	s := &r.Slot
	err := conn.QueryRow(ctx, `SELECT coalesce(plugin, ''), active, coalesce(confirmed_flush_lsn::text, ''),
			coalesce((pg_current_wal_lsn() - restart_lsn)::bigint, 0), coalesce(wal_status, '')
		FROM pg_replication_slots WHERE slot_name = $1`, cfg.Slot).Scan(&s.Plugin, &s.Active, &s.ConfirmedFlushLSN, &s.RetainedWALBytes, &s.WALStatus)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		r.Notes = append(r.Notes, fmt.Sprintf("slot %s does not exist: capture creates it on a first start (REPLICATION is enough); "+
			"if capture ran before, the slot was lost: run `alignsync capture --recreate-slot`, then `alignsync resync --since T`", cfg.Slot))
		return nil
	case err != nil:
		return fmt.Errorf("reading replication slot %s: %w", cfg.Slot, err)
	}
	s.Exists = true
	if s.WALStatus == "lost" {
		r.Fixes = append(r.Fixes, fmt.Sprintf("-- slot %s was invalidated by PostgreSQL (wal_status lost): run `alignsync capture --recreate-slot`, "+
			"then `alignsync resync --since T` (README: \"When the replication slot is lost\")", cfg.Slot))
	}
	if s.Plugin != "pgoutput" {
		r.Fixes = append(r.Fixes, fmt.Sprintf("SELECT pg_drop_replication_slot('%s');  -- it uses plugin %q, capture needs pgoutput", cfg.Slot, s.Plugin))
	}
	return nil
}
