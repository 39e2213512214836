package bridge

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// TokenPath is $AGENTOS_HOME/bridge.token.
func TokenPath(home string) string { return filepath.Join(home, "bridge.token") }

// LoadOrCreateToken reads the bearer token for POST /api/call, creating it
// (32 random bytes, hex, mode 0600) on first start. A token file readable
// by others is refused rather than trusted.
func LoadOrCreateToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		buf := make([]byte, 32)
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("bridge token: %w", err)
		}
		tok := hex.EncodeToString(buf)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) { // another process made it first
			return LoadOrCreateToken(path)
		}
		if err != nil {
			return "", fmt.Errorf("bridge token: %w", err)
		}
		_, werr := f.WriteString(tok + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return "", fmt.Errorf("bridge token: write %s: %w", path, werr)
		}
		return tok, nil
	}
	if err != nil {
		return "", fmt.Errorf("bridge token: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("bridge token %s is readable by other users (mode %o); run `chmod 600 %s`", path, fi.Mode().Perm(), path)
	}
	tok := strings.TrimSpace(string(data))
	if len(tok) < 32 {
		return "", fmt.Errorf("bridge token %s is too short (%d characters); delete it and a new one is made on the next start", path, len(tok))
	}
	return tok, nil
}

// authorized checks the Authorization: Bearer header in constant time.
func (s *Server) authorized(r *http.Request) bool {
	scheme, got, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	return ok && strings.EqualFold(scheme, "Bearer") &&
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.token)) == 1
}
