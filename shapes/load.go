package shapes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// LoadError reports one problem in one shape file. Loading never stops on
// one: the message ends by saying what was skipped ("file skipped", "shape
// task skipped") or that the shape was kept anyway.
type LoadError struct {
	File string // file path, or "embedded:defs/x.yaml"
	Line int    // 1-based; 0 when the problem has no line (unreadable file)
	Err  error
}

func (e *LoadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }

// Load builds an immutable registry: the embedded defaults first, then each
// dir in order. A missing dir is skipped silently, since a fresh
// AGENTOS_HOME or a skill without shapes has none. A later definition of a
// shape replaces an earlier one as a whole (no field merging), so a user can
// redefine a default shape without inheriting fields they meant to drop.
//
// Every returned error is a *LoadError and none is fatal: a file that does
// not parse is skipped, a shape that does not validate is skipped (the
// earlier definition of that name, if any, stays), and a reference to a
// shape nobody defines is reported but kept.
func Load(dirs ...string) (*Registry, []error) {
	var errs []error
	defined := map[string]*parsedShape{}
	add := func(source string, data []byte) {
		shapes, fileErrs := parseFile(source, data)
		errs = append(errs, fileErrs...)
		for _, ps := range shapes {
			defined[ps.shape.Name] = ps
		}
	}

	defaults, err := fs.ReadDir(defaultDefs, defaultsDir)
	if err != nil {
		// Only a broken build can get here; report it rather than panic.
		errs = append(errs, &LoadError{File: embeddedPrefix + defaultsDir, Err: err})
	}
	for _, entry := range defaults {
		name := path.Join(defaultsDir, entry.Name())
		data, err := defaultDefs.ReadFile(name)
		if err != nil {
			errs = append(errs, &LoadError{File: embeddedPrefix + name, Err: err})
			continue
		}
		add(embeddedPrefix+name, data)
	}

	for _, dir := range dirs {
		files, err := shapeFiles(dir)
		if err != nil {
			errs = append(errs, &LoadError{File: dir, Err: fmt.Errorf("cannot read shapes folder: %w; folder skipped", pathless(err))})
			continue
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				errs = append(errs, &LoadError{File: file, Err: fmt.Errorf("cannot read: %w; file skipped", pathless(err))})
				continue
			}
			add(file, data)
		}
	}

	reg, linkErrs := newRegistry(defined)
	return reg, append(errs, linkErrs...)
}

// shapeFiles lists the *.yaml and *.yml files directly in dir, sorted by
// name so that overrides within one folder are deterministic. Hidden files
// are ignored: editors leave backups and lock files there.
func shapeFiles(dir string) ([]string, error) {
	if dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if ext := filepath.Ext(name); ext != ".yaml" && ext != ".yml" {
			continue
		}
		full := filepath.Join(dir, name)
		// Stat follows symlinks, so a linked file counts and a folder named
		// x.yaml does not; a broken link is kept so that reading it reports why.
		if info, err := os.Stat(full); err == nil && !info.Mode().IsRegular() {
			continue
		}
		files = append(files, full)
	}
	slices.Sort(files)
	return files, nil
}

// pathless drops the path from an *fs.PathError, since LoadError.File
// already names it and the message would otherwise repeat it.
func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
