package sdk

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Explicit patterns, so tests/ and __pycache__/ stay out of the binary.
//
//go:embed python/agentos/*.py python/agentos_worker.py python/agentos_discover.py
var embedded embed.FS

// Entry scripts inside an extracted SDK directory, run as
// `<python> -I -S <dir>/<script> ...` (docs/worker-protocol.md).
const (
	WorkerScript   = "agentos_worker.py"
	DiscoverScript = "agentos_discover.py"
)

// Files returns the SDK files, rooted at the SDK directory (agentos/__init__.py,
// agentos_worker.py, ...).
func Files() fs.FS {
	sub, err := fs.Sub(embedded, "python")
	if err != nil {
		panic(err) // cannot happen: "python" is a valid, embedded path
	}
	return sub
}

type file struct {
	name string // slash-separated, relative to the SDK directory
	data []byte
}

// contents lists the embedded files in a fixed order.
func contents() ([]file, error) { return filesOf(Files()) }

// filesOf lists the files of fsys in a fixed order.
func filesOf(fsys fs.FS) ([]file, error) {
	var files []file
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		files = append(files, file{p, data})
		return err
	})
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	return files, err
}

// Hash identifies this SDK's content: the name of the directory Extract creates.
func Hash() string {
	files, err := contents()
	if err != nil {
		panic(err) // the embedded FS cannot fail to read
	}
	return hash(files)
}

func hash(files []file) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00", f.name, len(f.data))
		h.Write(f.data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Extract writes the SDK into dir/<content hash>/ and returns that directory's
// absolute path, which is what the worker's --sdk flag and the discovery script
// take. A directory that already holds exactly these files is reused (the
// workers' bytecode cache in it survives); one that does not, because it is
// partial or was changed, is replaced. The files are written to a temporary
// directory renamed into place, so a concurrent or crashed Extract never leaves
// a half-written SDK behind.
func Extract(dir string) (string, error) { return ExtractFS(Files(), dir) }

// ExtractFS is Extract for any embedded tree (the bundled skills use it too):
// fsys's files go to dir/<content hash>/, written atomically, reused when
// already there.
func ExtractFS(fsys fs.FS, dir string) (string, error) {
	files, err := filesOf(fsys)
	if err != nil {
		return "", fmt.Errorf("sdk: read embedded files: %w", err)
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("sdk: %w", err)
	}
	target := filepath.Join(dir, hash(files))
	if holds(target, files) {
		return target, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("sdk: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".extract-")
	if err != nil {
		return "", fmt.Errorf("sdk: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("sdk: %w", err)
	}
	for _, f := range files {
		p := filepath.Join(tmp, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", fmt.Errorf("sdk: %w", err)
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return "", fmt.Errorf("sdk: %w", err)
		}
	}
	if _, err := os.Lstat(target); err == nil {
		// Stale or changed: move it aside first, since rename cannot replace a
		// non-empty directory.
		old := tmp + ".old"
		if err := os.Rename(target, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("sdk: replace %s: %w", target, err)
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(tmp, target); err != nil {
		if holds(target, files) { // another process extracted it first
			return target, nil
		}
		return "", fmt.Errorf("sdk: %w", err)
	}
	return target, nil
}

// holds reports whether dir contains every file with exactly this content.
func holds(dir string, files []file) bool {
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.name)))
		if err != nil || !bytes.Equal(data, f.data) {
			return false
		}
	}
	return true
}

// JS is the browser app SDK (sdk/js/agentos.js), served by the bridge at
// /sdk.js as it is: it never holds the bridge token (it reads it from the
// bridge's own page, bridge/assets.go).
//
//go:embed js/agentos.js
var JS []byte
