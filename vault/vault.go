package vault

import (
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the length of the key file in bytes.
const KeySize = chacha20poly1305.KeySize

// NonceSize is the length of a nonce Seal returns.
const NonceSize = chacha20poly1305.NonceSizeX

// ErrMismatch means a sealed value did not open: the key is not the one it
// was sealed with, it was sealed under another name, or the bytes were
// altered. Authenticated encryption cannot tell these apart.
var ErrMismatch = errors.New("vault key does not match")

// Vault seals and opens secret values with one key. It is safe for
// concurrent use.
type Vault struct {
	path string
	aead cipher.AEAD
}

// Open loads the key at keyPath, creating a new random one (mode 0600) if
// the file does not exist. It refuses a key file that other users could
// read or write, one owned by another user, and one that is not exactly
// KeySize bytes: each error says what to do.
func Open(keyPath string) (*Vault, error) {
	abs, err := filepath.Abs(keyPath)
	if err != nil {
		return nil, fmt.Errorf("vault key %s: %w", keyPath, err)
	}
	key, err := readKey(abs)
	if errors.Is(err, fs.ErrNotExist) {
		if err = createKey(abs); err != nil {
			return nil, err
		}
		key, err = readKey(abs)
	}
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(key)
	clear(key)
	if err != nil {
		return nil, fmt.Errorf("vault key %s: %w", abs, err)
	}
	return &Vault{path: abs, aead: aead}, nil
}

// Path is the absolute path of the key file.
func (v *Vault) Path() string { return v.path }

// readKey reads and checks the key file. The checks run on the opened file
// (fstat), so the file checked is the file read.
func readKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("vault key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("vault key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("vault key %s is not a regular file (%s); move it away so a new key can be created", path, fi.Mode().Type())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("vault key %s has mode %04o: other users could read or change it, so it is not used; "+
			"run `chmod 600 %s` (and consider setting your secrets again if someone else may have read it)", path, perm, path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return nil, fmt.Errorf("vault key %s belongs to uid %d, not to you (uid %d), so it is not used; "+
			"run `chown %d %s` if it is yours", path, st.Uid, os.Getuid(), os.Getuid(), path)
	}
	key := make([]byte, KeySize+1)
	n, err := io.ReadFull(f, key)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("vault key: %w", err)
	}
	if n != KeySize {
		clear(key)
		size := strconv.Itoa(n)
		if n > KeySize {
			size = "more than " + strconv.Itoa(KeySize)
		}
		return nil, fmt.Errorf("vault key %s holds %s bytes, not %d: it is damaged or not an agentos key. "+
			"Put back the vault.key your secrets were stored with; if it is lost, move this file away "+
			"(a new key is made on next use) and set your secrets again", path, size, KeySize)
	}
	return key[:KeySize], nil
}

// createKey writes a new random key to path without ever exposing a partial
// file there: the key is written and synced to a private temporary file
// (O_EXCL, 0600), then hard-linked into place, which fails if path exists.
// If another process won the race, its key is the one used.
func createKey(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create vault key: %w", err)
	}
	key := make([]byte, KeySize)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("create vault key: %w", err)
	}
	var tmp *os.File
	var err error
	for range 10 {
		var suffix [8]byte
		rand.Read(suffix[:])
		name := filepath.Join(dir, fmt.Sprintf(".%s.%x.tmp", filepath.Base(path), suffix))
		tmp, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("create vault key: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return fmt.Errorf("create vault key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("create vault key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("create vault key: %w", err)
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return fmt.Errorf("create vault key: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the new name durable before secrets depend on it
		d.Close()
	}
	return nil
}

// Seal encrypts plaintext for the secret called name, with a fresh random
// nonce. The name is authenticated with it: the result opens only under
// that same name.
func (v *Vault) Seal(name string, plaintext []byte) (nonce, ciphertext []byte, err error) {
	nonce = make([]byte, NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, fmt.Errorf("seal secret %q: %w", name, err)
	}
	return nonce, v.aead.Seal(nil, nonce, plaintext, []byte(name)), nil
}

// Unseal decrypts what Seal returned for name. Any mismatch (another key,
// another name, altered bytes) is an error wrapping ErrMismatch.
func (v *Vault) Unseal(name string, nonce, ciphertext []byte) ([]byte, error) {
	if len(nonce) != NonceSize {
		return nil, fmt.Errorf("cannot decrypt secret %q: %w: its stored nonce is %d bytes, not %d (the stored value was altered)",
			name, ErrMismatch, len(nonce), NonceSize)
	}
	pt, err := v.aead.Open(nil, nonce, ciphertext, []byte(name))
	if err != nil {
		return nil, &mismatchError{name: name, path: v.path}
	}
	return pt, nil
}

type mismatchError struct{ name, path string }

func (e *mismatchError) Error() string {
	return fmt.Sprintf("cannot decrypt secret %q: %s does not match the key it was stored with (or the stored value was altered)", e.name, e.path)
}

func (e *mismatchError) Unwrap() error { return ErrMismatch }
