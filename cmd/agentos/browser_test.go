package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// artifactsDir is .ci/artifacts, where browser tests keep their screenshots.
func artifactsDir(t *testing.T) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, ".ci", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runBrowserScript runs testdata/script (a playwright-core script) under
// Node, in a process group of its own that a timeout ends whole, with env
// added to the environment. Each line it prints goes to onLine, with the
// script's stdin to answer on; the last, "RESULT <json>", is its result.
// It fails the test when the script times out, dies, prints no result or
// reports a failed check.
func runBrowserScript(t *testing.T, tools ciTools, script string, timeout time.Duration, env []string, onLine func(line string, answer io.Writer)) *webuiResult {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tools.Node, path)
	cmd.Env = append(append(os.Environ(), "HOME="+t.TempDir(), "NO_COLOR=1"), env...)
	cmd.Dir = t.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // stragglers; ESRCH when none
	var res *webuiResult
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			res = new(webuiResult)
			if err := json.Unmarshal([]byte(rest), res); err != nil {
				t.Errorf("%s's result is not JSON: %v", script, err)
				res = nil
			}
			continue
		}
		if onLine != nil {
			onLine(line, stdin)
		}
	}
	stdin.Close()
	werr := cmd.Wait()
	output := func() string { return fmt.Sprintf("stdout:\n%s\nstderr:\n%s", out.String(), stderr.String()) }
	var xe *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s timed out after %v\n%s", script, time.Since(start), output())
	case werr != nil && !errors.As(werr, &xe):
		t.Fatalf("%s: %v\n%s", script, werr, output())
	case res == nil:
		t.Fatalf("%s printed no result (%v)\n%s", script, werr, output())
	case !res.OK || werr != nil:
		t.Fatalf("%s failed in Chromium: %s\n%s", script, res.Error, output())
	}
	for _, c := range res.Checks {
		t.Logf("ok  %s %s", c.Name, c.Detail)
	}
	t.Logf("%d checks in the browser in %v", len(res.Checks), time.Since(start).Round(time.Millisecond))
	return res
}
