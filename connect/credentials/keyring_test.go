package credentials_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func key(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

func TestParseKeyringErrorsNameEntryNotMaterial(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	cases := []struct {
		spec, wantIn string
		secret       string
	}{
		{"", "no encryption keys", ""},
		{"k1", "entry 1: want id:base64key", "k1"},
		{"k1:" + key(1) + ",k2:" + short, `entry 2 (id "k2"): key is 16 bytes, want 32`, short},
		{"k1:" + key(1) + ",k1:" + key(2), `entry 2 (id "k1"): id used twice`, key(2)},
		{"k1:not*base64!", `entry 1 (id "k1"): key is not valid base64`, "not*base64!"},
		{":" + key(3), "entry 1: empty key id", key(3)},
		{key(4), "entry 1: want id:base64key", key(4)},
	}
	for _, tc := range cases {
		_, err := credentials.ParseKeyring(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.wantIn) {
			t.Errorf("ParseKeyring(%q): %v, want it to contain %q", tc.spec, err, tc.wantIn)
			continue
		}
		if len(tc.secret) >= 8 && strings.Contains(err.Error(), tc.secret[:8]) {
			t.Errorf("ParseKeyring(%q): error %q repeats key material", tc.spec, err)
		}
	}
	// Every problem at once.
	_, err := credentials.ParseKeyring("a,b:" + short + ",c:" + key(1))
	if err == nil || !strings.Contains(err.Error(), "entry 1") || !strings.Contains(err.Error(), "entry 2") {
		t.Fatalf("want both problems, got %v", err)
	}
}

func TestSealOpen(t *testing.T) {
	kr, err := credentials.ParseKeyring("new:" + key(1) + ", old:" + key(2))
	if err != nil {
		t.Fatal(err)
	}
	a, b := "5d2c1c1e-8f0c-4a55-9a53-5c1f1f7a0a01", "5d2c1c1e-8f0c-4a55-9a53-5c1f1f7a0a02"
	plain := []byte("ako_secretsecretsecretsecret1234")
	s1, err := kr.Seal(a, plain)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := kr.Seal(a, plain)
	if s1.KeyID != "new" {
		t.Fatalf("sealed with %q, want the first key", s1.KeyID)
	}
	if bytes.Equal(s1.Ciphertext, s2.Ciphertext) || bytes.Equal(s1.Nonce, s2.Nonce) {
		t.Fatal("sealing the same value twice gave the same nonce or ciphertext")
	}
	if bytes.Contains(s1.Ciphertext, plain) {
		t.Fatal("ciphertext contains the plaintext")
	}
	got, err := kr.Open(a, s1)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open: %q, %v", got, err)
	}
	if _, err := kr.Open(b, s1); !errors.Is(err, credentials.ErrDecrypt) {
		t.Fatalf("opened under another company: %v", err)
	}
	tampered := s1
	tampered.Ciphertext = append([]byte{}, s1.Ciphertext...)
	tampered.Ciphertext[0] ^= 1
	if _, err := kr.Open(a, tampered); !errors.Is(err, credentials.ErrDecrypt) {
		t.Fatalf("opened a tampered value: %v", err)
	}

	// Rotation: a value sealed with the old key opens while that key is listed.
	oldOnly, _ := credentials.ParseKeyring("old:" + key(2))
	sOld, _ := oldOnly.Seal(a, plain)
	if got, err := kr.Open(a, sOld); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("old key no longer opens: %v", err)
	}
	newOnly, _ := credentials.ParseKeyring("new:" + key(1))
	if _, err := newOnly.Open(a, sOld); err == nil || !strings.Contains(err.Error(), `"old"`) {
		t.Fatalf("dropped key: %v", err)
	}
}
