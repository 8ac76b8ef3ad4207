package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/gorilla/mux"
)

// Roles a token may carry.
const (
	RoleCompanyAdmin  = "company_admin"
	RolePlatformAdmin = "platform_admin"
)

// MinSecretBytes is the shortest ALIGNSYNC_ADMIN_JWT_SECRET accepted: an
// HS256 key shorter than the hash is open to brute force.
const MinSecretBytes = 32

// clockLeeway is how far the issuer's clock may be ahead of or behind ours.
const clockLeeway = 30 * time.Second

// Principal is the verified holder of a token.
type Principal struct {
	Subject   string
	CompanyID string // canonical UUID, or empty
	Roles     []string
}

// CanActOn reports whether p may act on companyID (canonical form): a
// platform_admin on any company, a company_admin on its own.
func (p Principal) CanActOn(companyID string) bool {
	if slices.Contains(p.Roles, RolePlatformAdmin) {
		return true
	}
	return slices.Contains(p.Roles, RoleCompanyAdmin) && p.CompanyID != "" && p.CompanyID == companyID
}

// claims are the token's claims as Illumera's app issues them.
type claims struct {
	CompanyID string   `json:"company_id,omitempty"`
	Roles     []string `json:"roles"`
	jwt.RegisteredClaims
}

// AuthError is a refused request: Status is 401 (no valid token) or 403
// (a valid token that may not act on the company).
type AuthError struct {
	Status  int
	Message string
}

func (e *AuthError) Error() string { return e.Message }

func unauthenticated(msg string) *AuthError {
	return &AuthError{Status: http.StatusUnauthorized, Message: msg}
}

var errForbidden = &AuthError{Status: http.StatusForbidden, Message: "not allowed to act on this company"}

// Auth verifies HS256 tokens signed with ALIGNSYNC_ADMIN_JWT_SECRET.
type Auth struct {
	secret []byte
	parser *jwt.Parser
}

// NewAuth returns an Auth for secret, which must be at least MinSecretBytes.
func NewAuth(secret string) (*Auth, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("admin JWT secret is %d bytes, want at least %d", len(secret), MinSecretBytes)
	}
	return &Auth{
		secret: []byte(secret),
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(clockLeeway),
		),
	}, nil
}

// ParseToken verifies an API token and returns its holder. Every failure is
// a 401 *AuthError; a sign-in token is refused here, as it is meant for one
// sign-in link only.
func (a *Auth) ParseToken(token string) (Principal, error) {
	c, err := a.verify(token)
	if err != nil {
		return Principal{}, err
	}
	if c.isSignIn() {
		return Principal{}, unauthenticated("a sign-in token is not an API token: use it in a sign-in link only")
	}
	return c.principal()
}

// verify checks a token's signature, algorithm and expiry (required, with
// 30 s of leeway for clocks) and returns its claims.
func (a *Auth) verify(token string) (claims, error) {
	var c claims
	_, err := a.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return a.secret, nil })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return claims{}, unauthenticated("token expired")
	case err != nil:
		return claims{}, unauthenticated("invalid token")
	}
	return c, nil
}

// principal is the holder the claims name.
func (c claims) principal() (Principal, error) {
	if c.Subject == "" {
		return Principal{}, unauthenticated("invalid token: no sub claim")
	}
	p := Principal{Subject: c.Subject, Roles: c.Roles}
	if c.CompanyID != "" {
		id, err := uuid.Parse(c.CompanyID)
		if err != nil {
			return Principal{}, unauthenticated("invalid token: company_id is not a UUID")
		}
		p.CompanyID = id.String()
	}
	return p, nil
}

// Authenticate verifies the request's "Authorization: Bearer <token>".
func (a *Auth) Authenticate(r *http.Request) (Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return Principal{}, unauthenticated("missing bearer token")
	}
	return a.ParseToken(strings.TrimSpace(token))
}

// Authorize authenticates r and checks that its holder may act on companyID
// (any form of UUID). It returns the holder and the canonical company id, or
// an *AuthError: 401, 403, or for a company id that is not a UUID 404 to a
// platform_admin and 403 to anyone else.
func (a *Auth) Authorize(r *http.Request, companyID string) (Principal, string, error) {
	p, err := a.Authenticate(r)
	if err != nil {
		return Principal{}, "", err
	}
	company, err := authorizeCompany(p, companyID)
	return p, company, err
}

// authorizeCompany checks that p may act on companyID (any form of UUID) and
// returns its canonical form; the admin API and the admin pages both decide
// here.
func authorizeCompany(p Principal, companyID string) (string, error) {
	id, err := uuid.Parse(companyID)
	if err != nil {
		if slices.Contains(p.Roles, RolePlatformAdmin) {
			return "", &AuthError{Status: http.StatusNotFound, Message: "company id is not a UUID"}
		}
		return "", errForbidden
	}
	company := id.String()
	if !p.CanActOn(company) {
		return "", errForbidden
	}
	return company, nil
}

type principalKey struct{}
type companyKey struct{}

// PrincipalFrom returns the holder RequireCompany verified.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// CompanyFrom returns the canonical company id RequireCompany authorized.
func CompanyFrom(ctx context.Context) string {
	id, _ := ctx.Value(companyKey{}).(string)
	return id
}

// RequireCompany lets a request through only when its token may act on the
// route's {companyID}; it answers 401 or 403 JSON errors otherwise and counts
// the refusal (m may be nil).
func (a *Auth) RequireCompany(m *Metrics) mux.MiddlewareFunc {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, company, err := a.Authorize(r, mux.Vars(r)["companyID"])
			if err != nil {
				var ae *AuthError
				errors.As(err, &ae)
				m.authFailure(ae.Status)
				code := "unauthorized"
				switch ae.Status {
				case http.StatusForbidden:
					code = "forbidden"
				case http.StatusNotFound:
					code = "not_found"
				default:
					w.Header().Set("WWW-Authenticate", `Bearer realm="alignsync"`)
				}
				writeError(w, ae.Status, code, ae.Message)
				return
			}
			ctx := context.WithValue(r.Context(), principalKey{}, p)
			ctx = context.WithValue(ctx, companyKey{}, company)
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// IssueToken signs an HS256 API token as Illumera's app would: for
// `alignsync admin-token`, tests and the demo.
func IssueToken(secret, sub, companyID string, roles []string, ttl time.Duration) (string, error) {
	return sign(secret, newClaims(sub, companyID, roles, ttl))
}

func newClaims(sub, companyID string, roles []string, ttl time.Duration) claims {
	now := time.Now()
	return claims{
		CompanyID: companyID,
		Roles:     roles,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   sub,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
}

func sign(secret string, c claims) (string, error) {
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
	if err != nil {
		return "", fmt.Errorf("signing token: %w", err)
	}
	return s, nil
}
