package engine

import (
	"log/slog"
	"path/filepath"
	"sync/atomic"

	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/shapes"
)

// shapeSet is the engine's current shape registry, shared by the method
// table and the store, and rebuilt when the skills change.
type shapeSet struct {
	cur     atomic.Pointer[shapes.Registry]
	store   *graph.Store
	userDir string
	log     *slog.Logger
}

func newShapeSet(reg *shapes.Registry, store *graph.Store, userDir string, log *slog.Logger) *shapeSet {
	ss := &shapeSet{store: store, userDir: userDir, log: log}
	ss.cur.Store(reg)
	return ss
}

// load is the current registry.
func (ss *shapeSet) load() *shapes.Registry { return ss.cur.Load() }

// reload rebuilds the registry: the embedded defaults, then the shapes
// valid skills bring in their shapes/ folders, then the user's own (last, so
// a user's definition wins). Bad files are logged and skipped.
func (ss *shapeSet) reload(skills []*broker.Skill) {
	var dirs []string
	for _, sk := range skills {
		if sk.Invalid == "" {
			dirs = append(dirs, filepath.Join(sk.Dir, "shapes"))
		}
	}
	reg, errs := shapes.Load(append(dirs, ss.userDir)...)
	for _, e := range errs {
		ss.log.Warn("shape file skipped", "err", e)
	}
	if reg.Fingerprint() == ss.load().Fingerprint() {
		return
	}
	ss.cur.Store(reg)
	ss.store.SetShapes(reg)
	ss.log.Info("shapes reloaded", "shapes", len(reg.List()))
}
