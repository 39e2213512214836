package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/agentos/agentos/engine/wire"
)

// EnsureDirs creates the directories of a state directory, private to the
// user, and makes private again those that exist with looser modes (a home
// unpacked from an archive, a restored data/): whatever the umask, no other
// account can list the home or open the log and audit files.
func EnsureDirs(p wire.Paths) error {
	for _, d := range []string{p.Home, filepath.Dir(p.DB), p.LogDir, p.ShapesDir, p.SkillsDir, p.Tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("create state directory: %w", err)
		}
		if err := tighten(d, 0o700); err != nil {
			return err
		}
	}
	for _, f := range []string{p.Log, p.AuditLog, p.PID} {
		if err := tighten(f, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// tighten clears the group and other bits of path beyond mode, if it exists.
func tighten(path string, mode fs.FileMode) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 || fi.Mode().Perm()&^mode == 0 {
		return nil
	}
	if err := os.Chmod(path, fi.Mode().Perm()&mode); err != nil {
		return fmt.Errorf("make %s private: %w", path, err)
	}
	return nil
}
