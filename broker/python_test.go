package broker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeShim writes a pyenv-style shim: a shell script that execs the real interpreter.
func writeShim(t *testing.T, dir string) string {
	t.Helper()
	shim := filepath.Join(dir, "python3")
	script := "#!/bin/sh\nexec " + systemPython + " \"$@\"\n"
	if err := os.WriteFile(shim, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return shim
}

func TestFindPythonPrefersTheConfiguredInterpreter(t *testing.T) {
	requirePython(t)
	shim := writeShim(t, t.TempDir())
	got, err := FindPython(context.Background(), shim)
	if err != nil {
		t.Fatal(err)
	}
	if got != shim {
		t.Errorf("FindPython = %s, want the configured %s", got, shim)
	}
}

func TestFindPythonResolvesAConfiguredBareNameOnPath(t *testing.T) {
	requirePython(t)
	dir := t.TempDir()
	writeShim(t, dir)
	t.Setenv("PATH", dir)
	got, err := FindPython(context.Background(), "python3")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "python3"); got != want {
		t.Errorf("FindPython = %s, want %s", got, want)
	}
}

func TestFindPythonRejectsAMissingConfiguredInterpreter(t *testing.T) {
	if _, err := FindPython(context.Background(), "/nonexistent/python3"); err == nil {
		t.Error("no error for a missing configured interpreter")
	}
	notExec := filepath.Join(t.TempDir(), "python3")
	if err := os.WriteFile(notExec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FindPython(context.Background(), notExec); err == nil {
		t.Error("no error for a configured file that is not executable")
	}
}

func TestFindPythonUsesTheSystemInterpreterWithoutRunningIt(t *testing.T) {
	requirePython(t)
	t.Setenv("PATH", t.TempDir()) // nothing there: PATH must not be needed
	got, err := FindPython(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got != systemPython {
		t.Errorf("FindPython = %s, want %s", got, systemPython)
	}
}

func TestFindPythonResolvesAShimOnPathToTheRealInterpreter(t *testing.T) {
	requirePython(t)
	dir := t.TempDir()
	shim := writeShim(t, dir)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	got, err := findPython(context.Background(), "", "/nonexistent/python3")
	if err != nil {
		t.Fatal(err)
	}
	if got == shim || strings.HasPrefix(got, dir) {
		t.Fatalf("FindPython kept the shim path %s", got)
	}
	want, err := filepath.EvalSymlinks(systemPython)
	if err != nil {
		t.Fatal(err)
	}
	if resolved, _ := filepath.EvalSymlinks(got); resolved != want {
		t.Errorf("FindPython = %s (%s), want the interpreter the shim runs, %s", got, resolved, want)
	}
}

func TestFindPythonFailsWithoutAnyInterpreter(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := findPython(context.Background(), "", "/nonexistent/python3"); err == nil {
		t.Error("no error with no interpreter anywhere")
	}
}
