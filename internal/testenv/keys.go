package testenv

import (
	"context"
	"fmt"
	"sync"
)

// Keys hands the sink the Align keys a test registered (a
// pipeline.Connections without a database); marking a connection in error
// is ignored.
type Keys struct {
	mu sync.Mutex
	m  map[string]string
}

// NewKeys returns an empty key store.
func NewKeys() *Keys { return &Keys{m: map[string]string{}} }

// Set registers company's key.
func (k *Keys) Set(companyID, key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[companyID] = key
}

// APIKey returns the key registered for companyID.
func (k *Keys) APIKey(_ context.Context, companyID string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.m[companyID]; ok {
		return key, nil
	}
	return "", fmt.Errorf("no key for company %s", companyID)
}

// MarkError does nothing: these tests read the outcome from the ledger.
func (k *Keys) MarkError(context.Context, string, string) error { return nil }
