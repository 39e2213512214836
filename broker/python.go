package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// systemPython is tried before PATH: it is never a shim and needs no process to resolve.
const systemPython = "/usr/bin/python3"

// resolveTimeout bounds the one interpreter run that resolves a PATH entry.
const resolveTimeout = 10 * time.Second

// FindPython returns an absolute interpreter path. configured (from config.yaml) wins
// if set; otherwise /usr/bin/python3 if executable, else `python3` on PATH resolved to
// the real binary by asking it for sys.executable. A PATH entry may be a pyenv-style
// shim, which costs ~100 ms a call; workers start once per call, so the shim path is
// never kept.
func FindPython(ctx context.Context, configured string) (string, error) {
	return findPython(ctx, configured, systemPython)
}

func findPython(ctx context.Context, configured, system string) (string, error) {
	if configured != "" {
		p, err := executablePath(configured)
		if err != nil {
			return "", fmt.Errorf("configured python %q: %w", configured, err)
		}
		return p, nil
	}
	if isExecutableFile(system) {
		return system, nil
	}
	onPath, err := exec.LookPath("python3")
	if err != nil {
		return "", fmt.Errorf("find python: no %s and no python3 on PATH: %w", system, err)
	}
	resolved, err := pythonExecutable(ctx, onPath)
	if err != nil {
		return "", fmt.Errorf("find python: resolve %s: %w", onPath, err)
	}
	return resolved, nil
}

// executablePath makes a configured interpreter absolute: a bare name is looked up
// on PATH, a relative path is taken from the current directory.
func executablePath(p string) (string, error) {
	if !strings.ContainsRune(p, filepath.Separator) {
		found, err := exec.LookPath(p)
		if err != nil {
			return "", err
		}
		p = found
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if !isExecutableFile(abs) {
		return "", errors.New("not an executable file")
	}
	return abs, nil
}

// pythonExecutable runs the interpreter once, isolated, to learn the binary a shim
// ends up executing.
func pythonExecutable(ctx context.Context, python string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, python, "-I", "-S", "-c", "import sys; print(sys.executable)")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := stderrLastLine(stderr.String()); msg != "" {
			return "", fmt.Errorf("%w: %s", err, clipMessage(msg, 200))
		}
		return "", err
	}
	resolved := strings.TrimSpace(string(out))
	if !filepath.IsAbs(resolved) {
		return "", fmt.Errorf("sys.executable is %q, not an absolute path", resolved)
	}
	if !isExecutableFile(resolved) {
		return "", fmt.Errorf("sys.executable %s is not an executable file", resolved)
	}
	return resolved, nil
}

// isExecutableFile reports whether p (symlinks followed) is a regular file with an
// execute bit set.
func isExecutableFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// CompileSDK writes the bytecode of the Python files under dir next to them,
// once, with python itself. Workers never write bytecode (and a sandboxed
// worker cannot: the SDK folder is read-only to it), so without this every
// call would compile the SDK again: ~50 ms a call under the sandbox here.
func CompileSDK(ctx context.Context, python, dir string) error {
	cmd := exec.CommandContext(ctx, python, "-I", "-S", "-m", "compileall", "-q", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("compile the SDK in %s: %v: %s", dir, err, bytes.TrimSpace(out))
	}
	return nil
}
