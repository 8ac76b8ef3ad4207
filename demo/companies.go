package demo

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/admin"
	"github.com/illumera/alignsync/alignsim"
)

// company is one demo tenant, its simulated Align organization and the
// organization key it is connected with.
type company struct {
	ID   string
	Name string
	Org  alignsim.Org
	Key  alignsim.Key
}

var companyNames = []string{"Northwind Defense", "Acme Federal", "Globex Systems", "Initech Gov", "Umbrella Analytics",
	"Stark Logistics", "Wayne Civic", "Cyberdyne Public", "Soylent Services", "Tyrell Research"}

// connectCompanies creates companies and connects each through the admin
// API exactly as a company admin would: PUT the org key.
func (w *world) connectCompanies(ctx context.Context) ([]company, error) {
	var out []company
	for i := 0; i < w.opts.Companies; i++ {
		name := companyNames[i%len(companyNames)]
		if i >= len(companyNames) {
			name = fmt.Sprintf("%s %d", name, i/len(companyNames)+1)
		}
		org, err := w.align.Control.CreateOrg(ctx, name, true)
		if err != nil {
			return nil, fmt.Errorf("creating the simulated Align org of %s: %w", name, err)
		}
		c := company{ID: uuid.NewString(), Name: name, Org: org}
		if _, err := w.pool.Exec(ctx, `INSERT INTO companies (id, name) VALUES ($1, $2)`, c.ID, name); err != nil {
			return nil, fmt.Errorf("creating company %s: %w", name, err)
		}
		// A key of its own, as an admin mints in Align, so the demo can revoke it.
		if c.Key, err = w.mintKey(ctx, c); err != nil {
			return nil, err
		}
		if err := w.putConnection(ctx, c.ID, c.Key.Key); err != nil {
			return nil, fmt.Errorf("connecting %s: %w", name, err)
		}
		fmt.Fprintf(w.opts.Out, "connected  %-20s company %s → Align org %s\n", name, c.ID, org.OrganizationID)
		out = append(out, c)
	}
	return out, nil
}

func (w *world) mintKey(ctx context.Context, c company) (alignsim.Key, error) {
	k, err := w.align.Control.MintKey(ctx, c.Org.OrganizationID, alignsim.KeyRequest{Scope: alignsim.ScopeOrganization, Name: "alignsync"})
	if err != nil {
		return alignsim.Key{}, fmt.Errorf("minting an Align key for %s: %w", c.Name, err)
	}
	return k, nil
}

func (w *world) putConnection(ctx context.Context, companyID, apiKey string) error {
	return w.adminAPI(ctx, http.MethodPut, companyID, "/connection", map[string]string{"apiKey": apiKey}, nil)
}

// connectionView is what the admin API shows of a connection.
type connectionView struct {
	Status    string  `json:"status"`
	KeyLast4  string  `json:"keyLast4"`
	LastError *string `json:"lastError"`
}

// adminAPI calls serve's admin API for a company as Illumera's admin would,
// with the demo's platform-admin token, and decodes the answer into out.
func (w *world) adminAPI(ctx context.Context, method, companyID, path string, in, out any) error {
	return admin.CallConnectionAPI(ctx, w.serveURL, w.token, method, companyID, path, in, out)
}

func (w *world) printURLs(companies []company) error {
	signIn, err := admin.IssueSignInToken(w.jwtSecret, "demo-platform-admin", "", []string{admin.RolePlatformAdmin}, admin.MaxSignInLifetime)
	if err != nil {
		return err
	}
	out := w.opts.Out
	fmt.Fprintf(out, "alignsim   %s  (state: %s/_sim/state)\n", w.align.BaseURL, w.align.URL)
	fmt.Fprintf(out, "admin API  %s/api/companies/%s/align/connection  (Authorization: Bearer %s)\n", w.serveURL, companies[0].ID, w.token)
	fmt.Fprintf(out, "metrics    %s/metrics   health %s/healthz   ready %s/readyz\n", w.serveURL, w.serveURL, w.serveURL)
	fmt.Fprintf(out, "admin UI   %s/admin/login?token=%s&next=/admin/align-sync%%3Fcompany%%3D%s  (sign-in link: platform admin, single use, valid %s)\n",
		w.serveURL, signIn, companies[0].ID, admin.MaxSignInLifetime)
	return nil
}
