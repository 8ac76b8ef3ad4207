package testenv

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EachRow runs a query with one argument and hands every row to scan,
// stopping at the first error.
func EachRow(ctx context.Context, pool *pgxpool.Pool, sql string, arg any, scan func(pgx.Rows) error) error {
	rows, err := pool.Query(ctx, sql, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
