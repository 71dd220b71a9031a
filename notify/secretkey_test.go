package notify

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestSecretKey(t *testing.T) {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	forms := map[string]string{
		"hex":              hex.EncodeToString(raw) + "\n",
		"base64":           base64.StdEncoding.EncodeToString(raw),
		"base64 url raw":   "  " + base64.RawURLEncoding.EncodeToString(raw) + "  ",
		"hex upper spaced": strings.ToUpper(hex.EncodeToString(raw)),
	}
	var keys []*SecretKey
	for name, f := range forms {
		k, err := ParseSecretKey([]byte(f))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		keys = append(keys, k)
	}
	for _, bad := range []string{"", "short", hex.EncodeToString(raw[:16]), base64.StdEncoding.EncodeToString(append(raw, 1))} {
		if _, err := ParseSecretKey([]byte(bad)); err == nil {
			t.Errorf("ParseSecretKey(%q) accepted", bad)
		}
	}

	sealed, err := keys[0].Seal("s3cr3t-value", "id-1")
	if err != nil {
		t.Fatal(err)
	}
	if !IsSealed(sealed) || strings.Contains(sealed, "s3cr3t") {
		t.Fatalf("sealed = %q", sealed)
	}
	again, _ := keys[0].Seal("s3cr3t-value", "id-1")
	if again == sealed {
		t.Error("two seals of one value are equal (nonce reused)")
	}
	for i, k := range keys { // the same key in every form opens it
		if got, err := k.Open(sealed, "id-1"); err != nil || got.Reveal() != "s3cr3t-value" {
			t.Errorf("key form %d: Open = %q, %v", i, got.Reveal(), err)
		}
	}
	if _, err := keys[0].Open(sealed, "id-2"); !errors.Is(err, ErrSecretSealed) {
		t.Errorf("Open with another row's id = %v, want ErrSecretSealed", err)
	}
	other, _ := ParseSecretKey([]byte(strings.Repeat("ab", 32)))
	if _, err := other.Open(sealed, "id-1"); !errors.Is(err, ErrSecretSealed) {
		t.Errorf("Open with another key = %v, want ErrSecretSealed", err)
	}
	var none *SecretKey
	if _, err := none.Open(sealed, "id-1"); !errors.Is(err, ErrSecretSealed) {
		t.Errorf("Open without a key = %v, want ErrSecretSealed", err)
	}
	if got, err := none.Open("plain-old", "id-1"); err != nil || got.Reveal() != "plain-old" {
		t.Errorf("a plaintext value stored before encryption = %q, %v", got.Reveal(), err)
	}
	if _, err := keys[0].Open(SealedPrefix+"!!", "id-1"); !errors.Is(err, ErrSecretSealed) {
		t.Errorf("malformed sealed value = %v", err)
	}
}
