package testenv

import (
	"context"

	"github.com/illumera/alignsync/internal/devenv"
)

// Postgres is a private PostgreSQL server in a temporary directory
// (devenv.Postgres).
type Postgres = devenv.Postgres

// BinDir finds the PostgreSQL server binaries (devenv.BinDir).
func BinDir() (string, error) { return devenv.BinDir() }

// StartPostgres starts a server with the migrated template database
// (devenv.StartPostgres).
func StartPostgres(ctx context.Context, settings ...string) (*Postgres, error) {
	return devenv.StartPostgres(ctx, settings...)
}
