package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// sealedPrefix marks a sealed value: base64(nonce || AES-256-GCM ciphertext+tag).
const sealedPrefix = "gcm1:"

// newSealer returns the AEAD for key, or nil when no key is configured.
func newSealer(key []byte) (cipher.AEAD, error) {
	if len(key) == 0 {
		return nil, nil
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("store: the encryption key must be exactly 32 bytes (AES-256), got %d bytes", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("store: encryption key: %w", err)
	}
	return cipher.NewGCM(block)
}

// seal encrypts plaintext with a fresh random nonce, binding it to aad.
func (s *db) seal(plaintext, aad string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("store: random nonce: %w", err)
	}
	out := s.aead.Seal(nonce, nonce, []byte(plaintext), []byte(aad))
	return sealedPrefix + base64.StdEncoding.EncodeToString(out), nil
}

var errUnseal = errors.New("cannot decrypt")

// open decrypts a value seal produced. Its errors never include the value.
func (s *db) open(sealed, aad string) (string, error) {
	if s.aead == nil {
		return "", ErrKeyRequired
	}
	if len(sealed) < len(sealedPrefix) || sealed[:len(sealedPrefix)] != sealedPrefix {
		return "", errUnseal
	}
	raw, err := base64.StdEncoding.DecodeString(sealed[len(sealedPrefix):])
	if err != nil || len(raw) < s.aead.NonceSize() {
		return "", errUnseal
	}
	n := s.aead.NonceSize()
	pt, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(aad))
	if err != nil {
		return "", errUnseal
	}
	return string(pt), nil
}

// tokenAAD binds a sealed token secret to its token id, so a sealed value moved to another row
// does not open.
func tokenAAD(id string) string { return "token:" + id }
