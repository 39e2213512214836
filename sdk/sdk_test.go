package sdk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const python = "/usr/bin/python3"

func needPython(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Skipf("%s not found: %v", python, err)
	}
}

func cleanEnv(t *testing.T) []string {
	tmp := t.TempDir()
	return []string{"PATH=/usr/bin:/bin", "HOME=" + tmp, "TMPDIR=" + tmp, "LANG=C.UTF-8",
		"PYTHONDONTWRITEBYTECODE=1", "PYTHONIOENCODING=utf-8"}
}

// TestPython runs the SDK's own unittest suite (decorators, discovery, the worker
// end to end against a fake engine).
func TestPython(t *testing.T) {
	needPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-m", "unittest", "discover", "-s", "python/tests", "-t", "python", "-v")
	cmd.Env = cleanEnv(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python unittest failed: %v\n%s", err, out)
	}
	t.Logf("%s", lastLines(string(out), 3))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func TestEmbeddedFiles(t *testing.T) {
	var names []string
	err := fs.WalkDir(Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{WorkerScript: false, DiscoverScript: false, "agentos/__init__.py": false,
		"agentos/_worker.py": false, "agentos/_conn.py": false, "agentos/_ops.py": false, "agentos/_decorators.py": false}
	for _, n := range names {
		if strings.Contains(n, "tests/") || strings.Contains(n, "__pycache__") || !strings.HasSuffix(n, ".py") {
			t.Errorf("embedded %s: only the SDK's own .py files belong in the binary", n)
		}
		if _, ok := want[n]; ok {
			want[n] = true
		}
	}
	for n, found := range want {
		if !found {
			t.Errorf("%s is not embedded (have %v)", n, names)
		}
	}
}

func TestExtract(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sdk")
	p1, err := Extract(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(p1) || filepath.Dir(p1) != dir || filepath.Base(p1) != Hash() || len(Hash()) != 16 {
		t.Fatalf("Extract = %s, want %s/<16 hex digits of content hash> (hash %s)", p1, dir, Hash())
	}
	checkFiles(t, p1)

	// Idempotent: same directory, files untouched (a bytecode cache in it survives).
	marker := filepath.Join(p1, "agentos", "__pycache__")
	if err := os.MkdirAll(marker, 0o755); err != nil {
		t.Fatal(err)
	}
	p2, err := Extract(dir)
	if err != nil || p2 != p1 {
		t.Fatalf("second Extract = %s, %v; want %s", p2, err, p1)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("reusing the directory lost its content: %v", err)
	}

	// A changed or missing file is repaired.
	if err := os.WriteFile(filepath.Join(p1, WorkerScript), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(p1, "agentos", "_ops.py")); err != nil {
		t.Fatal(err)
	}
	if p3, err := Extract(dir); err != nil || p3 != p1 {
		t.Fatalf("repairing Extract = %s, %v", p3, err)
	}
	checkFiles(t, p1)

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("%s holds %v; want only the hash directory (no temporary leftovers)", dir, names)
	}
}

func checkFiles(t *testing.T, dir string) {
	t.Helper()
	err := fs.WalkDir(Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		want, _ := fs.ReadFile(Files(), p)
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: extracted copy differs from the embedded one (%v)", p, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestExtractedCopyRuns(t *testing.T) {
	needPython(t)
	sdkDir, err := Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	help, err := exec.Command(python, "-I", "-S", filepath.Join(sdkDir, WorkerScript), "--help").Output()
	if err != nil || !strings.Contains(string(help), "usage: agentos_worker.py") {
		t.Fatalf("--help: %v\n%s", err, help)
	}

	skill := t.TempDir()
	tools := `from agentos import provides, secrets

@provides("demo.greet")
def greet(name: str, greeting: str = "hello") -> dict:
    """Greet someone."""
    print("to stderr")
    return {"text": f"{greeting} {name}", "secret": secrets.get("token")}
`
	if err := os.WriteFile(filepath.Join(skill, "tools.py"), []byte(tools), 0o644); err != nil {
		t.Fatal(err)
	}

	// Discovery from the extracted copy.
	out, err := exec.Command(python, "-I", "-S", filepath.Join(sdkDir, DiscoverScript), filepath.Join(skill, "tools.py")).Output()
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	var report struct {
		Files map[string]struct {
			Tools []struct {
				Name     string `json:"name"`
				Provides []struct {
					Capability string `json:"capability"`
				} `json:"provides"`
				Params struct {
					Required []string `json:"required"`
				} `json:"params"`
			} `json:"tools"`
			Error string `json:"error"`
		} `json:"files"`
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("discover printed %s: %v", out, err)
	}
	got := report.Files[filepath.Join(skill, "tools.py")]
	if got.Error != "" || len(got.Tools) != 1 || got.Tools[0].Name != "greet" ||
		got.Tools[0].Provides[0].Capability != "demo.greet" || strings.Join(got.Tools[0].Params.Required, ",") != "name" {
		t.Fatalf("discover: %s", out)
	}

	// A real call with one op round trip, as the engine would run it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-I", "-S", filepath.Join(sdkDir, WorkerScript),
		"--sdk", sdkDir, "--skill", skill, "--cpu-seconds", "10", "--memory-bytes", "1000000000", "--open-files", "64")
	cmd.Env = cleanEnv(t)
	cmd.Dir = t.TempDir()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	write := func(v any) {
		b, _ := json.Marshal(v)
		if _, err := stdin.Write(append(b, '\n')); err != nil {
			t.Fatal(err)
		}
	}
	write(map[string]any{"type": "call", "id": "c1", "skill": "demo", "module": "tools", "function": "greet",
		"params": map[string]any{"name": "Ada"}, "deadline_ms": 30000})
	var final map[string]any
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		var msg map[string]any
		if err := json.Unmarshal(lines.Bytes(), &msg); err != nil {
			t.Fatalf("not a protocol line: %q", lines.Text())
		}
		switch msg["type"] {
		case "op":
			if msg["op"] != "secrets.get" || msg["id"] != "o1" {
				t.Fatalf("unexpected op %v", msg)
			}
			write(map[string]any{"type": "op_result", "id": msg["id"], "result": "s3cret"})
		case "result", "error":
			final = msg
		}
	}
	stdin.Close()
	_, _ = io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("worker: %v\n%s", err, stderr.String())
	}
	want := map[string]any{"text": "hello Ada", "secret": "s3cret"}
	if final["type"] != "result" || final["id"] != "c1" || !jsonEqual(final["result"], want) {
		t.Fatalf("final message %v, want result %v; stderr:\n%s", final, want, stderr.String())
	}
	if !strings.Contains(stderr.String(), "to stderr") {
		t.Errorf("print() output should be on stderr, got %q", stderr.String())
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
