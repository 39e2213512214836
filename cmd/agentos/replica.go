package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/agentos/agentos/engine"
	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/graph/replica"
	"github.com/agentos/agentos/shapes"
	"github.com/agentos/agentos/vault"
)

// runRestoreGraph is `agentos restore URL [--timestamp T]`: the home's
// data/agentos.db built from a replica (DESIGN §14). It never writes over a
// database: a home that has one is refused.
func runRestoreGraph(ctx context.Context, e *env, rawURL, timestamp string, jsonOut bool) error {
	var at time.Time
	if timestamp != "" {
		t, err := time.Parse(time.RFC3339, timestamp)
		if err != nil {
			return usagef("restore: --timestamp %q is not an RFC 3339 time (2026-12-02T14:05:00Z)", timestamp)
		}
		at = t
	}
	paths := wire.PathsFor(e.home)
	res, err := replica.Restore(ctx, rawURL, paths.DB, replica.RestoreOptions{Timestamp: at})
	if errors.Is(err, replica.ErrExists) {
		return fmt.Errorf("restore: %w", err)
	}
	if err != nil {
		return err
	}
	secrets, keyNote := restoredSecrets(ctx, e.home, res.Path)
	if jsonOut {
		b, err := json.Marshal(map[string]any{"db_path": res.Path, "integrity": res.Integrity, "replica": replica.Redact(rawURL),
			"timestamp": timestamp, "secrets": secrets, "secrets_note": keyNote})
		if err != nil {
			return err
		}
		return printJSON(e.stdout, b)
	}
	t := newTable(e.stdout)
	t.row("restored", res.Path)
	t.row("from", replica.Redact(rawURL))
	if !at.IsZero() {
		t.row("as of", at.UTC().Format(time.RFC3339))
	}
	t.row("integrity", res.Integrity)
	if keyNote != "" {
		t.row("secrets", keyNote)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if res.Integrity != "ok" {
		return fmt.Errorf("restore: the restored database failed SQLite's integrity check: %s", res.Integrity)
	}
	return nil
}

// restoredSecrets counts the secrets in the restored graph and says
// plainly when this home's vault key cannot decrypt them: the key is never
// in the replica.
func restoredSecrets(ctx context.Context, home, dbPath string) (int, string) {
	reg, _ := shapes.Load(filepath.Join(home, "shapes"))
	st, err := graph.OpenReadOnly(ctx, dbPath, reg)
	if err != nil {
		return 0, ""
	}
	defer st.Close()
	list, err := st.ListSecrets(ctx)
	if err != nil || len(list) == 0 {
		return 0, ""
	}
	howto := "import the vault key exported on the machine they came from (agentos secrets export-key there, agentos secrets import-key here)"
	keyPath := engine.VaultKeyPath(home)
	if _, err := os.Stat(keyPath); err != nil {
		return len(list), fmt.Sprintf("%d, which cannot be decrypted: this home has no vault key; %s", len(list), howto)
	}
	v, err := vault.Open(keyPath)
	if err != nil {
		return len(list), fmt.Sprintf("%d, which cannot be decrypted: the vault key here cannot be used (%v)", len(list), err)
	}
	nonce, ct, err := st.GetSecret(ctx, list[0].Name)
	if err == nil {
		_, err = v.Unseal(list[0].Name, nonce, ct)
	}
	if err != nil {
		return len(list), fmt.Sprintf("%d, which this home's vault key does not decrypt; %s", len(list), howto)
	}
	return len(list), fmt.Sprintf("%d, decrypted by this home's vault key", len(list))
}
