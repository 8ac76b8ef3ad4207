package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultSessionLifetime is how long a session of the admin pages lasts
// after signing in, when Config.SessionLifetime is zero.
const DefaultSessionLifetime = 8 * time.Hour

// sessionIDBytes is the entropy of a session id (the cookie's value).
const sessionIDBytes = 32

// errLinkUsed refuses a sign-in link whose token was already exchanged.
var errLinkUsed = unauthenticated("this sign-in link was already used: ask for a new one")

// sessions keeps the admin pages' sessions in align_sync.admin_sessions, so
// that every serve instance knows them and signing out or expiry ends them
// for good. Only a hash of a session id is stored: reading the table does
// not give anyone a cookie.
type sessions struct {
	pool     *pgxpool.Pool
	lifetime time.Duration
}

// start exchanges a verified sign-in token for a new session. Recording the
// token's id in the same transaction is what makes a link work once; rows
// that can no longer matter (expired sessions, tokens past their expiry) are
// removed on the way.
func (st sessions) start(ctx context.Context, in SignIn) (id string, expires time.Time, err error) {
	raw := make([]byte, sessionIDBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", time.Time{}, fmt.Errorf("drawing a session id: %w", err)
	}
	id = base64.RawURLEncoding.EncodeToString(raw)
	expires = time.Now().Add(st.lifetime)
	err = pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM align_sync.admin_sessions WHERE expires_at <= now()`); err != nil {
			return fmt.Errorf("removing expired sessions: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM align_sync.admin_sign_in_tokens WHERE expires_at <= now()`); err != nil {
			return fmt.Errorf("removing expired sign-in tokens: %w", err)
		}
		// Kept until the token could not pass verification any more.
		tag, err := tx.Exec(ctx, `INSERT INTO align_sync.admin_sign_in_tokens (token_id, expires_at) VALUES ($1, $2)
			ON CONFLICT (token_id) DO NOTHING`, in.ID, in.Expires.Add(clockLeeway))
		if err != nil {
			return fmt.Errorf("recording sign-in token: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errLinkUsed
		}
		_, err = tx.Exec(ctx, `INSERT INTO align_sync.admin_sessions (id_hash, subject, company_id, roles, expires_at)
			VALUES ($1, $2, nullif($3, '')::uuid, $4, $5)`, hashSessionID(id), in.Subject, in.CompanyID, in.Roles, expires)
		if err != nil {
			return fmt.Errorf("storing session: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return id, expires, nil
}

// get returns the holder of a live session; ok is false for an unknown,
// ended or expired one.
func (st sessions) get(ctx context.Context, id string) (p Principal, ok bool, err error) {
	if !wellFormedSessionID(id) {
		return Principal{}, false, nil
	}
	err = st.pool.QueryRow(ctx, `SELECT subject, coalesce(company_id::text, ''), roles FROM align_sync.admin_sessions
		WHERE id_hash = $1 AND expires_at > now()`, hashSessionID(id)).Scan(&p.Subject, &p.CompanyID, &p.Roles)
	if errors.Is(err, pgx.ErrNoRows) {
		return Principal{}, false, nil
	}
	if err != nil {
		return Principal{}, false, fmt.Errorf("reading session: %w", err)
	}
	return p, true, nil
}

// end ends a session on the server: its cookie no longer signs anyone in.
func (st sessions) end(ctx context.Context, id string) error {
	if !wellFormedSessionID(id) {
		return nil
	}
	if _, err := st.pool.Exec(ctx, `DELETE FROM align_sync.admin_sessions WHERE id_hash = $1`, hashSessionID(id)); err != nil {
		return fmt.Errorf("ending session: %w", err)
	}
	return nil
}

func hashSessionID(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// wellFormedSessionID spares the database cookies that cannot be ours.
func wellFormedSessionID(id string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil && len(raw) == sessionIDBytes
}
