package broker

import (
	"os"
	"path/filepath"
	"testing"
)

// Call dirs a killed engine left are removed, whatever they hold; nothing
// else in the folder is touched.
func TestSweepCallDirsRemovesOnlyCallDirs(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"agentos-call-1/deep/er", "agentos-call-2", "keep-me"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "agentos-call-1", "deep", "f"), []byte("x"), 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "agentos-call-file"), []byte("not a dir"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := SweepCallDirs(dir)
	if err != nil || n != 2 {
		t.Fatalf("swept %d, %v; want 2", n, err)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 2 {
		t.Fatalf("left %v, want keep-me and the file", left)
	}
	if n, err := SweepCallDirs(filepath.Join(dir, "missing")); n != 0 || err != nil {
		t.Fatalf("a missing folder: %d, %v", n, err)
	}
}
