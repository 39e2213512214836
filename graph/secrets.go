package graph

import (
	"context"
	"fmt"
	"time"
)

// SecretInfo describes a stored secret; it never carries the value.
type SecretInfo struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// The store keeps secrets as opaque bytes: sealing and opening them is the
// vault package's job, so nothing here ever holds a plaintext. Writes go
// through the one writer like every other mutation (but record no history
// and publish no ChangeEvent); reads use the read-only pool.

// PutSecret stores (or replaces) the sealed value of name. A replaced
// secret keeps its created_at.
func (s *Store) PutSecret(ctx context.Context, name string, nonce, ciphertext []byte) error {
	if name == "" || len(nonce) == 0 || len(ciphertext) == 0 {
		return fmt.Errorf("graph: put secret: %w: a name, a nonce and a ciphertext are required", ErrInvalid)
	}
	return s.write(ctx, "secret", func(w *wtx) error {
		_, err := w.exec(`INSERT INTO secrets(name, nonce, ciphertext, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT(name) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext, updated_at = excluded.updated_at`,
			name, nonce, ciphertext, w.now, w.now)
		return err
	})
}

// GetSecret returns the sealed value of name; ErrNotFound if there is none.
func (s *Store) GetSecret(ctx context.Context, name string) (nonce, ciphertext []byte, err error) {
	found := false
	err = s.reader(pointCtx(ctx)).query(`SELECT nonce, ciphertext FROM secrets WHERE name = ?`, []any{name}, 2, func(r []any) error {
		found = true
		// The row slice is reused by the reader: keep copies.
		nonce = append([]byte(nil), asBytes(r[0])...)
		ciphertext = append([]byte(nil), asBytes(r[1])...)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if !found {
		return nil, nil, notFound("secret", name)
	}
	return nonce, ciphertext, nil
}

// StatSecret returns name's timestamps; ErrNotFound if it is not set.
func (s *Store) StatSecret(ctx context.Context, name string) (SecretInfo, error) {
	var info SecretInfo
	found := false
	err := s.reader(pointCtx(ctx)).query(`SELECT name, created_at, updated_at FROM secrets WHERE name = ?`, []any{name}, 3, func(r []any) error {
		found = true
		info = secretInfo(r)
		return nil
	})
	if err != nil {
		return SecretInfo{}, err
	}
	if !found {
		return SecretInfo{}, notFound("secret", name)
	}
	return info, nil
}

// ListSecrets returns every stored secret's name and timestamps, by name.
func (s *Store) ListSecrets(ctx context.Context) ([]SecretInfo, error) {
	out := []SecretInfo{}
	err := s.reader(ctx).query(`SELECT name, created_at, updated_at FROM secrets ORDER BY name`, nil, 3, func(r []any) error {
		out = append(out, secretInfo(r))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteSecret removes name; ErrNotFound if it is not set.
func (s *Store) DeleteSecret(ctx context.Context, name string) error {
	return s.write(ctx, "secret", func(w *wtx) error {
		n, err := w.exec(`DELETE FROM secrets WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n == 0 {
			return notFound("secret", name)
		}
		return nil
	})
}

func secretInfo(r []any) SecretInfo {
	return SecretInfo{Name: r[0].(string), CreatedAt: msTime(r[1].(int64)), UpdatedAt: msTime(r[2].(int64))}
}

// asBytes reads a BLOB column (a driver may hand back a string for one
// written as text by some other tool).
func asBytes(v any) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	return nil
}
