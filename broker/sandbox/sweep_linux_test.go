package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// A pids cgroup named after a process that is gone is removed; one of a live
// process is kept.
func TestSweepCgroupsRemovesOnlyThoseOfDeadProcesses(t *testing.T) {
	base, err := pidsCgroupBase()
	if err != nil {
		t.Skipf("no pids cgroup here: %v", err)
	}
	gone := exec.Command("/bin/true")
	if err := gone.Run(); err != nil {
		t.Skipf("cannot run /bin/true: %v", err)
	}
	dead := filepath.Join(base, fmt.Sprintf("agentos-call-%d-1", gone.Process.Pid))
	live := filepath.Join(base, fmt.Sprintf("agentos-call-%d-1", os.Getpid()))
	for _, d := range []string{dead, live} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.Remove(dead); os.Remove(live) })
	if n := SweepCgroups(); n < 1 {
		t.Errorf("swept %d cgroups, want at least the dead one", n)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the dead process's cgroup is still there: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live process's cgroup was removed: %v", err)
	}
}
