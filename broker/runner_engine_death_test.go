package broker

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// engineHelperEnv makes this test binary act as an engine that runs one hanging call.
const engineHelperEnv = "AGENTOS_TEST_RUNNER_ENGINE_PIDFILE"

func TestWorkerDiesWithTheEngine(t *testing.T) {
	if pidfile := os.Getenv(engineHelperEnv); pidfile != "" {
		r := newTestRunner(t, nil)
		c := fixtureCall(t, "pid_hang", map[string]string{"pidfile": pidfile})
		c.Timeout = time.Minute
		_, _ = r.Run(context.Background(), c, nil) // killed by the parent test long before this returns
		return
	}
	requirePython(t)
	t.Parallel()
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "worker.pid")
	engine := exec.Command(os.Args[0], "-test.run=^TestWorkerDiesWithTheEngine$", "-test.count=1")
	// TMPDIR: the helper is killed before its own t.TempDir cleanup runs,
	// so its temporary files go where this test's cleanup removes them.
	engine.Env = append(os.Environ(), engineHelperEnv+"="+pidfile, "TMPDIR="+dir)
	if err := engine.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { // the test kills it on purpose; this only reaps it
		_ = engine.Process.Kill()
		_ = engine.Wait()
	}()

	var pid int
	if !eventually(10*time.Second, func() bool {
		b, err := os.ReadFile(pidfile)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(string(b))
		return err == nil
	}) {
		t.Fatal("the helper engine never started its worker")
	}
	// SIGKILL: the engine gets no chance to clean up, only Pdeathsig can.
	if err := engine.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if !eventually(5*time.Second, func() bool { return processGone(pid) }) {
		t.Errorf("worker %d outlived its engine", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
