package engine

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/agentos/agentos/engine/wire"
)

// EnsureDirs creates the directories of a state directory, private to the
// user.
func EnsureDirs(p wire.Paths) error {
	for _, d := range []string{p.Home, filepath.Dir(p.DB), p.LogDir, p.ShapesDir, p.SkillsDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("create state directory: %w", err)
		}
	}
	return nil
}
