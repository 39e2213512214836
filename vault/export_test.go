package vault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A key exported with a passphrase imports on another home with it: the
// secrets sealed on the first open on the second. A wrong passphrase, a
// short one, an altered file and a different key in place are refused
// with a clear error, and the key in place is left as it was.
func TestExportedKeyRoundTrips(t *testing.T) {
	src := filepath.Join(t.TempDir(), "vault.key")
	v, err := Open(src)
	if err != nil {
		t.Fatal(err)
	}
	nonce, ct, err := v.Seal("openai", []byte("sk-live"))
	if err != nil {
		t.Fatal(err)
	}
	pass := []byte("correct horse battery")
	if _, err := ExportKey(src, []byte("short")); err == nil || !strings.Contains(err.Error(), "at least") {
		t.Errorf("a short passphrase: %v", err)
	}
	data, err := ExportKey(src, pass)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(src)
	if bytes.Contains(data, raw) {
		t.Fatal("the export holds the key in the clear")
	}

	dst := filepath.Join(t.TempDir(), "home", "vault.key")
	if err := ImportKey(dst, data, []byte("wrong horse battery"), false); !errors.Is(err, ErrPassphrase) {
		t.Errorf("a wrong passphrase: %v, want ErrPassphrase", err)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("a failed import left a key: %v", err)
	}
	altered := bytes.Replace(data, []byte(`"time": 3`), []byte(`"time": 4`), 1)
	if err := ImportKey(dst, altered, pass, false); !errors.Is(err, ErrPassphrase) {
		t.Errorf("altered parameters: %v, want ErrPassphrase", err)
	}
	if err := ImportKey(dst, []byte("not json"), pass, false); err == nil || !strings.Contains(err.Error(), "not an exported") {
		t.Errorf("not an export: %v", err)
	}
	if err := ImportKey(dst, data, pass, false); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o600 {
		t.Errorf("imported key mode %v", fi.Mode().Perm())
	}
	v2, err := Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := v2.Unseal("openai", nonce, ct); err != nil || string(pt) != "sk-live" {
		t.Fatalf("a secret sealed on the first home: %q %v", pt, err)
	}
	if err := ImportKey(dst, data, pass, false); err != nil {
		t.Errorf("importing the same key again: %v", err)
	}

	other := filepath.Join(t.TempDir(), "vault.key")
	if _, err := Open(other); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(other)
	if err := ImportKey(other, data, pass, false); err == nil || !strings.Contains(err.Error(), "--replace") {
		t.Errorf("over another key: %v", err)
	}
	if after, _ := os.ReadFile(other); !bytes.Equal(before, after) {
		t.Error("a refused import changed the key in place")
	}
	if err := ImportKey(other, data, pass, true); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(other); !bytes.Equal(after, raw) {
		t.Error("--replace did not install the key")
	}
}
