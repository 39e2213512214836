package shapes

import "embed"

// defaultDefs holds the shapes every registry starts with. It is read-only,
// so sharing it package-wide is not mutable global state.
//
//go:embed defs/*.yaml
var defaultDefs embed.FS

// defaultsDir is the folder inside defaultDefs, and embeddedPrefix marks the
// Source of shapes that came from it ("embedded:defs/task.yaml").
const (
	defaultsDir    = "defs"
	embeddedPrefix = "embedded:"
)
