package graph

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/agentos/agentos/shapes"
)

// defaultShapes loads the embedded shapes plus optional extra YAML files
// (name → content) written to a temp dir.
func defaultShapes(t testing.TB, extra map[string]string) *shapes.Registry {
	t.Helper()
	var dirs []string
	if len(extra) > 0 {
		dir := t.TempDir()
		for name, body := range extra {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		dirs = append(dirs, dir)
	}
	reg, errs := shapes.Load(dirs...)
	for _, err := range errs {
		t.Fatalf("load shapes: %v", err)
	}
	return reg
}

func openTest(t testing.TB, reg *shapes.Registry, opts Options) *Store {
	t.Helper()
	if reg == nil {
		reg = defaultShapes(t, nil)
	}
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "data", "agentos.db"), reg, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
