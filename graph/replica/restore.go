package replica

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/benbjohnson/litestream"
	_ "modernc.org/sqlite" // the driver the integrity check opens the restored file with
)

// ErrExists is Restore refusing a database that is already there.
var ErrExists = errors.New("a database is already there")

// RestoreOptions configure Restore.
type RestoreOptions struct {
	Credentials Credentials
	// Timestamp, when set, restores the database as it was then (the last
	// transaction at or before it) instead of the latest.
	Timestamp time.Time
	Logger    *slog.Logger
}

// Restored says what Restore built.
type Restored struct {
	Path      string
	Integrity string // "ok", or what SQLite's integrity_check found
}

// Restore builds the database file out (mode 0600, in a directory of mode
// 0700, made if missing) from the replica at rawURL. It refuses a file
// already at out, and leaves nothing at out if it fails: the file is built
// beside it and moved into place once it is whole and checked.
func Restore(ctx context.Context, rawURL, out string, opts RestoreOptions) (Restored, error) {
	for _, p := range []string{out, out + "-wal", out + "-shm"} {
		if _, err := os.Lstat(p); err == nil {
			return Restored{}, fmt.Errorf("%w: %s (restore into a home without one, or move it away first)", ErrExists, p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return Restored{}, err
		}
	}
	c, err := client(rawURL, opts.Credentials)
	if err != nil {
		return Restored{}, err
	}
	dir := filepath.Dir(out)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Restored{}, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return Restored{}, err
	}
	tmp := out + ".restoring"
	cleanup := func() {
		for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm", tmp + "-txid"} {
			os.Remove(p)
		}
	}
	cleanup() // an earlier restore's leftovers
	r := litestream.NewReplicaWithClient(nil, c)
	ro := litestream.NewRestoreOptions()
	ro.OutputPath, ro.Timestamp = tmp, opts.Timestamp
	if err := r.Restore(ctx, ro); err != nil {
		cleanup()
		if errors.Is(err, litestream.ErrNoSnapshots) || errors.Is(err, litestream.ErrTxNotAvailable) {
			return Restored{}, fmt.Errorf("restore from %s: nothing to restore there (is it the right URL, and has an engine replicated to it?): %w", Redact(rawURL), err)
		}
		return Restored{}, fmt.Errorf("restore from %s: %w", Redact(rawURL), err)
	}
	integrity, err := integrityCheck(ctx, tmp)
	if err != nil {
		cleanup()
		return Restored{}, err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		cleanup()
		return Restored{}, err
	}
	if err := os.Rename(tmp, out); err != nil {
		cleanup()
		return Restored{}, err
	}
	cleanup()
	return Restored{Path: out, Integrity: integrity}, nil
}

// integrityCheck runs SQLite's integrity_check on path and says what it
// found ("ok" when all is well).
func integrityCheck(ctx context.Context, path string) (string, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return "", err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return "", fmt.Errorf("integrity check of the restored database: %w", err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return "", err
		}
		found = append(found, s)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("integrity check of the restored database: %w", err)
	}
	return strings.Join(found, "; "), nil
}
