package credentials

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// keySize is AES-256's key length.
const keySize = 32

// ErrDecrypt is returned by Open when a value does not authenticate: wrong
// company, tampered ciphertext, or a key that has the right id but not the
// right bytes. It says nothing more, on purpose.
var ErrDecrypt = errors.New("decrypting secret: authentication failed")

// Sealed is one encrypted value as stored: the id of the key that sealed it,
// the random nonce and the ciphertext (with its GCM tag).
type Sealed struct {
	KeyID      string
	Nonce      []byte
	Ciphertext []byte
}

// Keyring holds the AES-256-GCM keys of ALIGNSYNC_ENCRYPTION_KEYS. The first
// key seals new values; every key opens, so keys rotate by putting a new key
// first and dropping the old one once nothing sealed with it remains.
type Keyring struct {
	primary string
	aeads   map[string]cipher.AEAD
}

// ParseKeyring reads a comma-separated list of id:base64(32 bytes). Every
// problem is reported (errors.Join), naming the entry by position and id;
// key material is never repeated in an error.
func ParseKeyring(spec string) (*Keyring, error) {
	kr := &Keyring{aeads: map[string]cipher.AEAD{}}
	var errs []error
	n := 0
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		n++
		id, aead, err := parseEntry(entry)
		if err != nil {
			errs = append(errs, fmt.Errorf("encryption key entry %d%s: %w", i+1, quotedID(id), err))
			continue
		}
		if _, dup := kr.aeads[id]; dup {
			errs = append(errs, fmt.Errorf("encryption key entry %d%s: id used twice", i+1, quotedID(id)))
			continue
		}
		kr.aeads[id] = aead
		if kr.primary == "" {
			kr.primary = id
		}
	}
	if n == 0 {
		errs = append(errs, errors.New("no encryption keys: want id:base64key[,id:base64key...]"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return kr, nil
}

func quotedID(id string) string {
	if id == "" {
		return ""
	}
	return fmt.Sprintf(" (id %q)", id)
}

// parseEntry returns the id it could read even on error, so the message can
// name the entry; it never returns any part of the key.
func parseEntry(entry string) (string, cipher.AEAD, error) {
	id, encoded, ok := strings.Cut(entry, ":")
	if !ok {
		// Without a colon the whole entry may be key material: name nothing.
		return "", nil, errors.New("want id:base64key")
	}
	id = strings.TrimSpace(id)
	if id == "" {
		return "", nil, errors.New("empty key id")
	}
	if strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", nil, errors.New("key id contains spaces or control characters")
	}
	key, err := decodeKey(strings.TrimSpace(encoded))
	if err != nil {
		return id, nil, err
	}
	if len(key) != keySize {
		return id, nil, fmt.Errorf("key is %d bytes, want %d (AES-256)", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return id, nil, fmt.Errorf("creating AES cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return id, nil, fmt.Errorf("creating GCM: %w", err)
	}
	return id, aead, nil
}

// decodeKey accepts standard or URL-safe base64, padded or not; its error
// never quotes the input.
func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty key")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("key is not valid base64")
}

// PrimaryKeyID is the id of the key that seals new values.
func (k *Keyring) PrimaryKeyID() string { return k.primary }

// Seal encrypts plaintext for companyID with the primary key and a fresh
// random nonce; the company id is authenticated as additional data.
func (k *Keyring) Seal(companyID string, plaintext []byte) (Sealed, error) {
	aead := k.aeads[k.primary]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return Sealed{}, fmt.Errorf("generating nonce: %w", err)
	}
	return Sealed{
		KeyID:      k.primary,
		Nonce:      nonce,
		Ciphertext: aead.Seal(nil, nonce, plaintext, []byte(companyID)),
	}, nil
}

// Open decrypts s, which must have been sealed for companyID by a key still in
// the keyring.
func (k *Keyring) Open(companyID string, s Sealed) ([]byte, error) {
	aead, ok := k.aeads[s.KeyID]
	if !ok {
		return nil, fmt.Errorf("decrypting secret: key id %q is not in the keyring (ALIGNSYNC_ENCRYPTION_KEYS)", s.KeyID)
	}
	if len(s.Nonce) != aead.NonceSize() {
		return nil, ErrDecrypt
	}
	plaintext, err := aead.Open(nil, s.Nonce, s.Ciphertext, []byte(companyID))
	if err != nil {
		return nil, ErrDecrypt
	}
	return plaintext, nil
}
