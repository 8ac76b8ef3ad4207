package alignsim

import (
	crand "crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
)

// authenticate finds the request's key (align-contract.md §1): Authorization:
// Bearer wins over X-API-Key when both are sent.
func (s *Server) authenticate(h http.Header) (*apiKey, error) {
	secret, sent := credential(h)
	if !sent {
		return nil, newError(http.StatusUnauthorized, codeUnauthorized,
			"missing API key: send Authorization: Bearer <key> or X-API-Key")
	}
	k := s.st.keys[secret]
	if k == nil {
		return nil, newError(http.StatusUnauthorized, codeUnauthorized, "unknown API key")
	}
	if k.revoked {
		return nil, newError(http.StatusUnauthorized, codeKeyRevoked, "API key %s has been revoked", k.prefix())
	}
	return k, nil
}

// credential returns the key the request presents. An Authorization header
// that is not "Bearer <key>" still wins, and so fails.
func credential(h http.Header) (string, bool) {
	if auth := h.Get("Authorization"); auth != "" {
		scheme, token, _ := strings.Cut(auth, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return "", true
		}
		return strings.TrimSpace(token), true
	}
	if key := h.Get("X-API-Key"); key != "" {
		return key, true
	}
	return "", false
}

// newKeySecret returns "ako_" + 43 url-safe characters.
func newKeySecret() string {
	b := make([]byte, 32)
	_, _ = crand.Read(b) // never fails (crypto/rand documents it)
	return "ako_" + base64.RawURLEncoding.EncodeToString(b)
}

// prefix is the visible part of a key: "ako_" + 8 characters.
func (k *apiKey) prefix() string { return k.secret[:len("ako_")+8] }

// last4 is the most of a key the simulator ever logs.
func (k *apiKey) last4() string { return k.secret[len(k.secret)-4:] }

type meView struct {
	APIKeyID        string   `json:"apiKeyId"`
	KeyName         string   `json:"keyName"`
	KeyPrefix       string   `json:"keyPrefix"`
	OrganizationID  string   `json:"organizationId"`
	Scope           string   `json:"scope"`
	ScopedProjectID *string  `json:"scopedProjectId"`
	Permissions     []string `json:"permissions"`
	CreatedByUserID string   `json:"createdByUserId"`
	LastUsedAt      string   `json:"lastUsedAt"`
}

func getMe(c *call) (reply, error) {
	k := c.key
	v := meView{
		APIKeyID:        k.id,
		KeyName:         k.name,
		KeyPrefix:       k.prefix(),
		OrganizationID:  k.orgID,
		Scope:           k.scope,
		Permissions:     k.permissions,
		CreatedByUserID: k.createdBy,
		LastUsedAt:      stamp(k.lastUsedAt),
	}
	if k.scope == scopeProject {
		v.ScopedProjectID = &k.projectID
	}
	return replyOK(v), nil
}
