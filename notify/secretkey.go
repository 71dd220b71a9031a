package notify

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SealedPrefix starts a secret encrypted at rest with a SecretKey:
// "enc:v1:" then the standard base64 of the 12-byte nonce followed by the
// AES-256-GCM ciphertext and tag.
const SealedPrefix = "enc:v1:"

// ErrSecretSealed is returned when a secret is encrypted at rest and no
// key (or the wrong key) was given to open it.
var ErrSecretSealed = errors.New("secret is encrypted at rest and cannot be opened: pass the key with --secret-key-file or CLAIMDRIFT_SECRET_KEY_FILE")

// SecretKey encrypts secrets at rest (webhook signing secrets) with
// AES-256-GCM. Each value is bound to a context string (the recipient's
// id), so a sealed value copied onto another row does not open.
type SecretKey struct {
	aead cipher.AEAD
}

// ParseSecretKey reads a 256-bit key as written in a key file: 64
// hexadecimal digits, or 32 bytes in standard or URL-safe base64
// (`openssl rand -hex 32`, `head -c 32 /dev/urandom | base64`).
// Surrounding whitespace is ignored.
func ParseSecretKey(b []byte) (*SecretKey, error) {
	s := strings.TrimSpace(string(b))
	var key []byte
	if k, err := hex.DecodeString(s); err == nil && len(k) == 32 {
		key = k
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if key != nil {
			break
		}
		if k, err := enc.DecodeString(s); err == nil && len(k) == 32 {
			key = k
		}
	}
	if key == nil {
		return nil, errors.New("secret key: want 32 bytes as 64 hex digits or base64 (openssl rand -hex 32)")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &SecretKey{aead: aead}, nil
}

// IsSealed reports whether a stored value is an encrypted secret.
func IsSealed(stored string) bool { return strings.HasPrefix(stored, SealedPrefix) }

// Seal encrypts s for storage, bound to context. The empty secret stays
// empty.
func (k *SecretKey) Seal(s Secret, context string) (string, error) {
	if s == "" {
		return "", nil
	}
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal secret: %w", err)
	}
	out := k.aead.Seal(nonce, nonce, []byte(s), []byte(context))
	return SealedPrefix + base64.StdEncoding.EncodeToString(out), nil
}

// Open decrypts a value Seal produced with the same context; a value
// without SealedPrefix is a plaintext secret stored before encryption was
// configured and is returned as is. A nil key cannot open sealed values
// (ErrSecretSealed).
func (k *SecretKey) Open(stored, context string) (Secret, error) {
	if !IsSealed(stored) {
		return Secret(stored), nil
	}
	if k == nil {
		return "", ErrSecretSealed
	}
	raw, err := base64.StdEncoding.DecodeString(stored[len(SealedPrefix):])
	n := k.aead.NonceSize()
	if err != nil || len(raw) < n+k.aead.Overhead() {
		return "", fmt.Errorf("%w (malformed value)", ErrSecretSealed)
	}
	plain, err := k.aead.Open(nil, raw[:n], raw[n:], []byte(context))
	if err != nil {
		return "", fmt.Errorf("%w (wrong key?)", ErrSecretSealed)
	}
	return Secret(plain), nil
}
