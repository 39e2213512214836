package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
)

// Under umask 022 a first start leaves nothing of the home readable by
// other accounts, and a home whose modes were loosened (unpacked from an
// archive, a restored database) is made private again.
func TestEngineKeepsTheHomePrivateUnderUmask022(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	for _, loose := range []bool{false, true} {
		home := testkit.Home(t)
		paths := wire.PathsFor(home)
		if loose {
			// A first run made the files; then they were loosened.
			d := startDaemon(t, home)
			call(t, d.client(t), wire.MethodCreate, map[string]any{"shape": "note", "fields": map[string]any{"text": "x"}}, nil)
			d.stop()
			for _, p := range []string{home, filepath.Dir(paths.DB), paths.LogDir} {
				if err := os.Chmod(p, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range []string{paths.DB, paths.Log} {
				if err := os.Chmod(p, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		d := startDaemon(t, home)
		// A write, so the -wal and -shm files exist.
		call(t, d.client(t), wire.MethodCreate, map[string]any{"shape": "note", "fields": map[string]any{"text": "y"}}, nil)
		want := map[string]os.FileMode{
			home: 0o700, filepath.Dir(paths.DB): 0o700, paths.LogDir: 0o700,
			paths.DB: 0o600, paths.DB + "-wal": 0o600, paths.DB + "-shm": 0o600,
			paths.Log: 0o600, paths.Socket: 0o600, paths.PID: 0o600,
		}
		for p, mode := range want {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("loose=%v: %v", loose, err)
			}
			if got := fi.Mode().Perm(); got&^mode != 0 {
				t.Errorf("loose=%v: %s is %o, want at most %o", loose, p, got, mode)
			}
		}
		d.stop()
	}
}
