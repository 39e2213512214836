package vault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func openTest(t *testing.T) (*Vault, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vault.key")
	v, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return v, path
}

func TestVaultRoundTrip(t *testing.T) {
	v, path := openTest(t)
	for _, plain := range [][]byte{[]byte("sk-live-123"), {}, bytes.Repeat([]byte{0, 0xff, 'x'}, 50000)} {
		nonce, ct, err := v.Seal("openai", plain)
		if err != nil {
			t.Fatal(err)
		}
		if len(nonce) != NonceSize {
			t.Fatalf("nonce is %d bytes", len(nonce))
		}
		if len(plain) > 0 && bytes.Contains(ct, plain) {
			t.Fatal("the ciphertext contains the plaintext")
		}
		got, err := v.Unseal("openai", nonce, ct)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("round trip changed the value: %d bytes in, %d out", len(plain), len(got))
		}
	}
	// The key survives a reopen: what was sealed opens again.
	nonce, ct, _ := v.Seal("k", []byte("v"))
	again, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := again.Unseal("k", nonce, ct); err != nil || string(got) != "v" {
		t.Fatalf("after reopen: %q, %v", got, err)
	}
}

func TestVaultNonceIsFreshOnEverySeal(t *testing.T) {
	v, _ := openTest(t)
	seenNonce, seenCT := map[string]bool{}, map[string]bool{}
	for range 1000 {
		nonce, ct, err := v.Seal("same", []byte("same value"))
		if err != nil {
			t.Fatal(err)
		}
		if seenNonce[string(nonce)] || seenCT[string(ct)] {
			t.Fatal("a nonce (or ciphertext) repeated across seals of the same value")
		}
		seenNonce[string(nonce)], seenCT[string(ct)] = true, true
	}
}

func TestVaultWrongKeyIsAClearError(t *testing.T) {
	v, _ := openTest(t)
	other, otherPath := openTest(t)
	nonce, ct, _ := v.Seal("github", []byte("ghp_secret"))
	_, err := other.Unseal("github", nonce, ct)
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("err = %v, want ErrMismatch", err)
	}
	msg := err.Error()
	for _, want := range []string{`cannot decrypt secret "github"`, otherPath, "does not match the key it was stored with"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "ghp_secret") {
		t.Fatal("the error carries the value")
	}
}

func TestVaultTamperedDataFails(t *testing.T) {
	v, _ := openTest(t)
	nonce, ct, _ := v.Seal("db", []byte("password"))
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01
		if _, err := v.Unseal("db", nonce, bad); !errors.Is(err, ErrMismatch) {
			t.Fatalf("flipping ciphertext byte %d: err = %v", i, err)
		}
	}
	badNonce := bytes.Clone(nonce)
	badNonce[0] ^= 0x80
	if _, err := v.Unseal("db", badNonce, ct); !errors.Is(err, ErrMismatch) {
		t.Fatalf("altered nonce: err = %v", err)
	}
	if _, err := v.Unseal("db", nonce[:12], ct); !errors.Is(err, ErrMismatch) {
		t.Fatalf("short nonce: err = %v", err)
	}
	if _, err := v.Unseal("db", nonce, ct[:len(ct)-1]); !errors.Is(err, ErrMismatch) {
		t.Fatalf("truncated ciphertext: err = %v", err)
	}
}

func TestVaultNameIsAuthenticated(t *testing.T) {
	v, _ := openTest(t)
	nonceA, ctA, _ := v.Seal("a", []byte("value of a"))
	// Moving a's row under the name b must not hand b a's value.
	if _, err := v.Unseal("b", nonceA, ctA); !errors.Is(err, ErrMismatch) {
		t.Fatalf("a's sealed value opened as b: %v", err)
	}
}

func TestVaultKeyFileIsCreatedPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home") // missing directories are made too
	path := filepath.Join(dir, "vault.key")
	if _, err := Open(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != KeySize {
		t.Fatalf("key file mode %v size %d, want 0600 and %d bytes", fi.Mode().Perm(), fi.Size(), KeySize)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	key1, _ := os.ReadFile(path)
	if _, err := Open(path); err != nil {
		t.Fatal(err)
	}
	if key2, _ := os.ReadFile(path); !bytes.Equal(key1, key2) {
		t.Fatal("opening an existing key replaced it")
	}
}

func TestVaultRefusesAnExposedKeyFile(t *testing.T) {
	_, path := openTest(t)
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o602} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path)
		if err == nil {
			t.Fatalf("a key file with mode %04o was used", mode)
		}
		if !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Fatalf("mode %04o: error does not say what to do: %v", mode, err)
		}
	}
	os.Chmod(path, 0o400) // read-only for the owner is fine
	if _, err := Open(path); err != nil {
		t.Fatalf("mode 0400: %v", err)
	}
}

func TestVaultRefusesAKeyOfTheWrongSize(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 16, 31, 33, 64} {
		path := filepath.Join(dir, "vault.key")
		os.Remove(path)
		if err := os.WriteFile(path, bytes.Repeat([]byte{7}, size), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path)
		if err == nil || !strings.Contains(err.Error(), "not 32") || !strings.Contains(err.Error(), "set your secrets again") {
			t.Fatalf("%d-byte key: %v", size, err)
		}
		if got, _ := os.ReadFile(path); len(got) != size {
			t.Fatalf("a bad key file was overwritten")
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "dir.key"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(dir, "dir.key")); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("a directory as key: %v", err)
	}
}

func TestVaultConcurrentFirstOpensAgreeOnOneKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.key")
	const n = 16
	vaults := make([]*Vault, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vaults[i], errs[i] = Open(path)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	nonce, ct, _ := vaults[0].Seal("x", []byte("y"))
	for i, v := range vaults {
		if _, err := v.Unseal("x", nonce, ct); err != nil {
			t.Fatalf("vault %d got a different key: %v", i, err)
		}
	}
}
