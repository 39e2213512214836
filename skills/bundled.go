package skills

import (
	"embed"
	"io/fs"

	"github.com/agentos/agentos/sdk"
)

//go:embed */SKILL.md */*.py */agents/*.md
var bundled embed.FS

// Files returns the bundled skill folders.
func Files() fs.FS { return bundled }

// Extract writes the bundled skills into dir/<content hash>/ (reused when
// it exists) and returns that folder of skill folders.
func Extract(dir string) (string, error) { return sdk.ExtractFS(bundled, dir) }
