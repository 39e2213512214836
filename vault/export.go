package vault

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// ErrPassphrase means an exported key did not open with the passphrase
// given: it is not the one it was exported with (or the file was altered).
var ErrPassphrase = errors.New("the passphrase does not open this key")

// MinPassphrase is the shortest passphrase an export takes, in bytes.
const MinPassphrase = 10

// exportFormat names the file an export writes.
const exportFormat = "agentos-vault-key"

// exported is an exported key: the key sealed with XChaCha20-Poly1305
// under a key derived from the passphrase with argon2id. The header fields
// are authenticated with it.
type exported struct {
	Format    string `json:"format"`
	Version   int    `json:"version"`
	KDF       string `json:"kdf"`
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
	Salt      []byte `json:"salt"`
	Nonce     []byte `json:"nonce"`
	Sealed    []byte `json:"sealed"`
}

// header is what of e the seal authenticates: everything but the seal.
func (e exported) header() []byte {
	e.Nonce, e.Sealed = nil, nil
	b, _ := json.Marshal(e)
	return b
}

func (e exported) kek(passphrase []byte) []byte {
	return argon2.IDKey(passphrase, e.Salt, e.Time, e.MemoryKiB, e.Threads, chacha20poly1305.KeySize)
}

// ExportKey is the key at keyPath (checked as Open checks it) wrapped with
// passphrase, as a JSON document to keep or carry to another machine.
func ExportKey(keyPath string, passphrase []byte) ([]byte, error) {
	if len(passphrase) < MinPassphrase {
		return nil, fmt.Errorf("the passphrase is %d bytes; use at least %d", len(passphrase), MinPassphrase)
	}
	abs, err := filepath.Abs(keyPath)
	if err != nil {
		return nil, err
	}
	key, err := readKey(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("there is no vault key at %s to export (it is made when the first secret is set)", abs)
	}
	if err != nil {
		return nil, err
	}
	defer clear(key)
	e := exported{Format: exportFormat, Version: 1, KDF: "argon2id", Time: 3, MemoryKiB: 64 << 10, Threads: 4,
		Salt: make([]byte, 16), Nonce: make([]byte, chacha20poly1305.NonceSizeX)}
	if _, err := rand.Read(e.Salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(e.Nonce); err != nil {
		return nil, err
	}
	kek := e.kek(passphrase)
	defer clear(kek)
	aead, err := chacha20poly1305.NewX(kek)
	if err != nil {
		return nil, err
	}
	e.Sealed = aead.Seal(nil, e.Nonce, key, e.header())
	out, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// ImportKey opens data (what ExportKey wrote) with passphrase and installs
// the key at keyPath, mode 0600. A key already there is replaced only with
// replace, since the secrets sealed with it would no longer open; the same
// key is a no-op.
func ImportKey(keyPath string, data, passphrase []byte, replace bool) error {
	var e exported
	if err := json.Unmarshal(data, &e); err != nil || e.Format != exportFormat {
		return errors.New("this is not an exported agentos vault key (agentos secrets export-key writes one)")
	}
	if e.Version != 1 || e.KDF != "argon2id" || len(e.Nonce) != chacha20poly1305.NonceSizeX || e.Threads == 0 || e.MemoryKiB > 4<<20 || e.Time > 100 {
		return fmt.Errorf("this exported key has a format this agentos does not read (version %d, %s)", e.Version, e.KDF)
	}
	kek := e.kek(passphrase)
	defer clear(kek)
	aead, err := chacha20poly1305.NewX(kek)
	if err != nil {
		return err
	}
	key, err := aead.Open(nil, e.Nonce, e.Sealed, e.header())
	if err != nil {
		return ErrPassphrase
	}
	defer clear(key)
	if len(key) != KeySize {
		return fmt.Errorf("the exported key holds %d bytes, not %d", len(key), KeySize)
	}
	abs, err := filepath.Abs(keyPath)
	if err != nil {
		return err
	}
	old, err := readKey(abs)
	switch {
	case err == nil:
		same := string(old) == string(key)
		clear(old)
		if same {
			return nil
		}
		if !replace {
			return fmt.Errorf("%s already holds another key; the secrets stored with it would no longer open. "+
				"Export it first if you may need it, then import with --replace", abs)
		}
	case !errors.Is(err, fs.ErrNotExist) && !replace:
		return err
	}
	return writeKey(abs, key)
}

// writeKey puts key at path, mode 0600, through a private temporary file
// renamed into place: the file is whole or not there.
func writeKey(path string, key []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
