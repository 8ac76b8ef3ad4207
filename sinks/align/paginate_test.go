package align

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
)

// pagedUsers serves total users in pages, the way the contract describes.
func pagedUsers(total int) func(int, *http.Request) reply {
	return func(_ int, r *http.Request) reply {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		size, _ := strconv.Atoi(r.URL.Query().Get("pageSize"))
		if page < 1 || size < 1 || size > 100 {
			return reply{Status: 400, Body: apiErrBody(CodeValidation, "bad page")}
		}
		data := []map[string]string{}
		for i := (page - 1) * size; i < min(page*size, total); i++ {
			data = append(data, map[string]string{"id": fmt.Sprintf("u%03d", i), "email": "x@y.z"})
		}
		body, _ := json.Marshal(map[string]any{"data": data, "page": page, "pageSize": size, "total": total})
		return reply{Status: 200, Body: string(body)}
	}
}

func TestPaginationWalksAllPages(t *testing.T) {
	tests := []struct {
		total, wantRequests int
	}{
		{0, 1},
		{99, 1},
		{100, 1},
		{250, 3},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.total), func(t *testing.T) {
			f := newFake(t, pagedUsers(tt.total))
			c := newTestClient(t, f, nil)
			users, err := Collect(c.ListUsers(context.Background()))
			if err != nil {
				t.Fatalf("ListUsers: %v", err)
			}
			if len(users) != tt.total {
				t.Fatalf("got %d users, want %d", len(users), tt.total)
			}
			for i, u := range users {
				if want := fmt.Sprintf("u%03d", i); u.ID != want {
					t.Fatalf("user %d = %s, want %s", i, u.ID, want)
				}
			}
			reqs := f.requests()
			if len(reqs) != tt.wantRequests {
				t.Fatalf("requests = %d, want %d", len(reqs), tt.wantRequests)
			}
			for i, r := range reqs {
				if want := fmt.Sprintf("page=%d&pageSize=100", i+1); r.RawQuery != want {
					t.Errorf("request %d query = %s, want %s", i, r.RawQuery, want)
				}
			}
		})
	}
}

func TestPaginationStopsWhenConsumerStops(t *testing.T) {
	f := newFake(t, pagedUsers(250))
	c := newTestClient(t, f, nil)
	n := 0
	for _, err := range c.ListUsers(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 150 {
			break
		}
	}
	if got := len(f.requests()); got != 2 {
		t.Errorf("requests = %d, want 2", got)
	}
}

func TestPaginationYieldsErrorAndStops(t *testing.T) {
	f := newFake(t, func(n int, r *http.Request) reply {
		if n == 0 {
			return pagedUsers(250)(n, r)
		}
		return reply{Status: 403, Body: apiErrBody(CodeScopeViolation, "org only")}
	})
	c := newTestClient(t, f, nil)
	users, err := Collect(c.ListUsers(context.Background()))
	if !IsCode(err, CodeScopeViolation) || len(users) != 100 {
		t.Errorf("Collect = %d users, err %v; want 100 and scope_violation", len(users), err)
	}
}

func TestListFiltersAreSent(t *testing.T) {
	empty := func(int, *http.Request) reply {
		return reply{Status: 200, Body: `{"data":[],"page":1,"pageSize":100,"total":0}`}
	}
	f := newFake(t, empty)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	_, _ = Collect(c.ListTimeEntries(ctx, TimeEntryFilter{StartDate: "2026-11-01", EndDate: "2026-11-30",
		Status: StatusApproved, ExternalSystem: "illumera", ProjectID: "p1"}))
	_, _ = Collect(c.ListProjectTimeEntries(ctx, "p1", TimeEntryFilter{Status: StatusDraft}))
	_, _ = Collect(c.ListIntegrationLinks(ctx, LinkFilter{Provider: "illumera", ExternalType: "project", ExternalID: "a b"}))
	want := []recorded{
		{Path: "/api/v1/time-entries", RawQuery: "endDate=2026-11-30&externalSystem=illumera&page=1&pageSize=100&projectId=p1&startDate=2026-11-01&status=approved"},
		{Path: "/api/v1/projects/p1/time-entries", RawQuery: "page=1&pageSize=100&status=draft"},
		{Path: "/api/v1/integration-links", RawQuery: "externalId=a+b&externalType=project&page=1&pageSize=100&provider=illumera"},
	}
	reqs := f.requests()
	if len(reqs) != len(want) {
		t.Fatalf("requests = %d, want %d", len(reqs), len(want))
	}
	for i, w := range want {
		if reqs[i].Path != w.Path || reqs[i].RawQuery != w.RawQuery {
			t.Errorf("request %d = %s?%s, want %s?%s", i, reqs[i].Path, reqs[i].RawQuery, w.Path, w.RawQuery)
		}
	}
}
