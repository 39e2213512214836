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
	errs    atomic.Pointer[[]string] // the last reload's bad shape files, each with why
	store   *graph.Store
	userDir string
	log     *slog.Logger
}

func newShapeSet(reg *shapes.Registry, store *graph.Store, userDir string, log *slog.Logger) *shapeSet {
	ss := &shapeSet{store: store, userDir: userDir, log: log}
	ss.cur.Store(reg)
	return ss
}

// errors are the shape files the last reload skipped, each with why: shown
// by shapes.list and system.status, not only in the log.
func (ss *shapeSet) errors() []string {
	if p := ss.errs.Load(); p != nil {
		return *p
	}
	return nil
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
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		ss.log.Warn("shape file skipped", "err", e)
		msgs = append(msgs, e.Error())
	}
	ss.errs.Store(&msgs)
	if reg.Fingerprint() == ss.load().Fingerprint() {
		return
	}
	ss.cur.Store(reg)
	ss.store.SetShapes(reg)
	ss.log.Info("shapes reloaded", "shapes", len(reg.List()))
}
