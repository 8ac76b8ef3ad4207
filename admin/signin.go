package admin

import (
	"crypto/rand"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SignInAudience is the aud claim that makes a token a sign-in token: good
// for one sign-in link, exchanged once for a session of the admin pages, and
// refused as an API token.
const SignInAudience = "alignsync-admin-sign-in"

// MaxSignInLifetime is the longest a sign-in token may be valid: a link ends
// up in browser history and logs, so it must stop working soon.
const MaxSignInLifetime = 10 * time.Minute

// maxSignInIDBytes bounds a sign-in token's jti, which is stored once used.
const maxSignInIDBytes = 200

// SignIn is a verified sign-in token: who it signs in, its id (jti) and
// when it stops being valid.
type SignIn struct {
	Principal
	ID      string
	Expires time.Time
}

func (c claims) isSignIn() bool { return slices.Contains(c.Audience, SignInAudience) }

// ParseSignInToken verifies a sign-in link's token: signed like an API token,
// with aud SignInAudience, a jti, and an expiry at most MaxSignInLifetime
// away. Every failure is a 401 *AuthError. That the token was not used
// before is for the session store to decide.
func (a *Auth) ParseSignInToken(token string) (SignIn, error) {
	c, err := a.verify(token)
	if err != nil {
		return SignIn{}, err
	}
	if !c.isSignIn() {
		return SignIn{}, unauthenticated("the link carries an API token, not a sign-in token (aud " + SignInAudience +
			"): ask for a new sign-in link")
	}
	if c.ID == "" || len(c.ID) > maxSignInIDBytes {
		return SignIn{}, unauthenticated(fmt.Sprintf("invalid sign-in token: its jti must be 1 to %d bytes", maxSignInIDBytes))
	}
	if c.ExpiresAt.After(time.Now().Add(MaxSignInLifetime + clockLeeway)) {
		return SignIn{}, unauthenticated(fmt.Sprintf("invalid sign-in token: valid for longer than %s", MaxSignInLifetime))
	}
	p, err := c.principal()
	if err != nil {
		return SignIn{}, err
	}
	return SignIn{Principal: p, ID: c.ID, Expires: c.ExpiresAt.Time}, nil
}

// IssueSignInToken signs a sign-in token as Illumera's app would: the API
// token's claims, aud SignInAudience and a random jti, valid for ttl (at
// most MaxSignInLifetime).
func IssueSignInToken(secret, sub, companyID string, roles []string, ttl time.Duration) (string, error) {
	if ttl <= 0 || ttl > MaxSignInLifetime {
		return "", fmt.Errorf("sign-in token lifetime %s: must be more than 0 and at most %s", ttl, MaxSignInLifetime)
	}
	c := newClaims(sub, companyID, roles, ttl)
	c.Audience = jwt.ClaimStrings{SignInAudience}
	c.ID = rand.Text()
	return sign(secret, c)
}
