package credentials

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// KeyUse counts the stored secrets sealed with one key id.
type KeyUse struct {
	KeyID          string `json:"keyId"`
	APIKeys        int    `json:"apiKeys"`
	WebhookSecrets int    `json:"webhookSecrets"`
}

// RotationFailure is a stored secret that could not be re-encrypted; it
// names the secret, never shows it.
type RotationFailure struct {
	CompanyID string `json:"companyId"`
	Secret    string `json:"secret"` // "API key" or "webhook secret"
	KeyID     string `json:"keyId"`
	Error     string `json:"error"`
}

// Rotation is what RotateKeys found and did.
type Rotation struct {
	PrimaryKeyID string            `json:"primaryKeyId"`
	DryRun       bool              `json:"dryRun"`
	InUse        []KeyUse          `json:"inUse"`   // before rotating, by key id
	Rotated      []KeyUse          `json:"rotated"` // re-encrypted with the primary key, by the key id they had
	Failures     []RotationFailure `json:"failures"`
}

// ErrRotationIncomplete is returned with a Rotation whose Failures are not
// empty: the keys they name cannot be retired yet.
var ErrRotationIncomplete = errors.New("some stored secrets could not be re-encrypted")

// RotateKeys re-encrypts every stored API key and webhook secret that is not
// sealed with kr's first key, one company at a time (its row locked, so a
// concurrent connect or health check waits). With dryRun it only counts the
// key ids in use. Every process that reads secrets must already hold a
// keyring with kr's first key in it, or it can no longer decrypt them.
func RotateKeys(ctx context.Context, pool *pgxpool.Pool, kr *Keyring, dryRun bool) (Rotation, error) {
	r := Rotation{PrimaryKeyID: kr.PrimaryKeyID(), DryRun: dryRun, InUse: []KeyUse{}, Rotated: []KeyUse{}, Failures: []RotationFailure{}}
	inUse, err := keysInUse(ctx, pool)
	if err != nil {
		return r, err
	}
	r.InUse = inUse
	if dryRun {
		return r, nil
	}
	rows, err := pool.Query(ctx, `
		SELECT company_id::text FROM align_sync.connections
		 WHERE (api_key_ciphertext IS NOT NULL AND api_key_key_id IS DISTINCT FROM $1)
		    OR (webhook_secret_ciphertext IS NOT NULL AND webhook_secret_key_id IS DISTINCT FROM $1)
		 ORDER BY company_id`, r.PrimaryKeyID)
	if err != nil {
		return r, fmt.Errorf("listing connections to re-encrypt: %w", err)
	}
	companies, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return r, fmt.Errorf("listing connections to re-encrypt: %w", err)
	}
	rotated := map[string]*KeyUse{}
	for _, company := range companies {
		if err := rotateCompany(ctx, pool, kr, company, rotated, &r.Failures); err != nil {
			return r, err
		}
	}
	r.Rotated = sortedUses(rotated)
	if len(r.Failures) > 0 {
		return r, ErrRotationIncomplete
	}
	return r, nil
}

// keysInUse counts the stored secrets by the id of the key that sealed them.
func keysInUse(ctx context.Context, pool *pgxpool.Pool) ([]KeyUse, error) {
	rows, err := pool.Query(ctx, `
		SELECT key_id, count(*) FILTER (WHERE kind = 'api_key'), count(*) FILTER (WHERE kind = 'webhook_secret')
		  FROM (SELECT coalesce(api_key_key_id, '') AS key_id, 'api_key' AS kind
		          FROM align_sync.connections WHERE api_key_ciphertext IS NOT NULL
		        UNION ALL
		        SELECT coalesce(webhook_secret_key_id, ''), 'webhook_secret'
		          FROM align_sync.connections WHERE webhook_secret_ciphertext IS NOT NULL) s
		 GROUP BY key_id ORDER BY key_id`)
	if err != nil {
		return nil, fmt.Errorf("counting key ids in use: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[KeyUse])
	if err != nil {
		return nil, fmt.Errorf("counting key ids in use: %w", err)
	}
	if out == nil {
		out = []KeyUse{}
	}
	return out, nil
}

// rotateCompany re-encrypts one company's secrets that another key sealed,
// counting them in rotated by their former key id; a secret the keyring
// cannot open is a failure, and the company's other secret still rotates.
func rotateCompany(ctx context.Context, pool *pgxpool.Pool, kr *Keyring, company string, rotated map[string]*KeyUse, failures *[]RotationFailure) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		row, found, err := Load(ctx, tx, company, true)
		if err != nil || !found {
			return err
		}
		for _, sec := range []struct {
			name, column string
			sealed       Sealed
			count        func(*KeyUse)
		}{
			{"API key", "api_key", row.APIKey, func(u *KeyUse) { u.APIKeys++ }},
			{"webhook secret", "webhook_secret", row.WebhookSecret, func(u *KeyUse) { u.WebhookSecrets++ }},
		} {
			if len(sec.sealed.Ciphertext) == 0 || sec.sealed.KeyID == kr.PrimaryKeyID() {
				continue
			}
			resealed, err := reseal(kr, company, sec.sealed)
			if err != nil {
				*failures = append(*failures, RotationFailure{CompanyID: company, Secret: sec.name, KeyID: sec.sealed.KeyID, Error: err.Error()})
				continue
			}
			_, err = tx.Exec(ctx, `UPDATE align_sync.connections SET `+sec.column+`_ciphertext = $2, `+sec.column+`_nonce = $3, `+
				sec.column+`_key_id = $4, updated_at = now() WHERE company_id = $1`,
				company, resealed.Ciphertext, resealed.Nonce, resealed.KeyID)
			if err != nil {
				return fmt.Errorf("storing the re-encrypted %s of company %s: %w", sec.name, company, err)
			}
			if rotated[sec.sealed.KeyID] == nil {
				rotated[sec.sealed.KeyID] = &KeyUse{KeyID: sec.sealed.KeyID}
			}
			sec.count(rotated[sec.sealed.KeyID])
		}
		return nil
	})
}

// reseal opens s and seals its plaintext with the primary key; the
// plaintext is wiped before returning.
func reseal(kr *Keyring, company string, s Sealed) (Sealed, error) {
	plain, err := kr.Open(company, s)
	if err != nil {
		return Sealed{}, err
	}
	defer clear(plain)
	return kr.Seal(company, plain)
}

func sortedUses(m map[string]*KeyUse) []KeyUse {
	out := make([]KeyUse, 0, len(m))
	for _, u := range m {
		out = append(out, *u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].KeyID < out[j].KeyID })
	return out
}
