package connect_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/sinks/align"
)

func newAlignClient(f *fixture, key string) (*align.Client, error) {
	return align.New(align.Config{BaseURL: f.ctl.APIBaseURL(), APIKey: key, MaxAttempts: 1})
}

func projectRequest(name string) align.CreateProjectRequest {
	return align.CreateProjectRequest{Name: name}
}

// addLink writes a time-entry link as the pipeline would and returns its Align id.
func addLink(t *testing.T, f *fixture, company string) string {
	t.Helper()
	alignID := uuid.NewString()
	if _, err := f.pool.Exec(context.Background(), `INSERT INTO align_sync.entity_links (company_id, entity_type, illumera_id, align_id)
		VALUES ($1, 'time_entry', $2, $3)`, company, uuid.NewString(), alignID); err != nil {
		t.Fatal(err)
	}
	return alignID
}

func countLinks(t *testing.T, f *fixture, company string) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM align_sync.entity_links WHERE company_id = $1`, company).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
