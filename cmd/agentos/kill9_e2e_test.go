package main

import (
	"os"
	"testing"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
)

// kill -9 of the engine mid-call leaves nothing behind: the call's worker,
// the child it started, and the sandbox helper die with the engine (the
// helper, init of the call's PID namespace, has a parent-death signal, and
// the namespace ends with it), and the next engine sweeps the call's dir.
func TestKill9OfTheEngineLeavesNoProcessAndNoCallDir(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "hanger", "capability(hang)", testkit.HangTools)
	d := startDaemon(t, home)
	marker := testkit.SkillDir(home, "hanger")
	var started struct {
		Job string `json:"job"`
	}
	call(t, d.client(t), wire.MethodInvoke, map[string]any{"capability": "hang", "params": map[string]any{"marker": marker}, "async": true}, &started)
	pids := testkit.WaitMarked(t, marker, 2) // the worker and its child
	helpers := testkit.SandboxAncestors(pids)
	var st wire.Status
	call(t, d.client(t), wire.MethodStatus, nil, &st)
	if st.Sandbox != nil && len(st.Sandbox.Missing) == 0 && len(helpers) == 0 {
		t.Fatalf("the sandbox is on but no helper parents the call's processes %v", pids)
	}
	entries, _ := os.ReadDir(wire.PathsFor(home).Tmp)
	if len(entries) == 0 {
		t.Fatal("no call dir while the call runs")
	}

	d.kill()
	testkit.WaitNoneMarked(t, marker, "the killed engine's call")
	for _, pid := range helpers {
		testkit.WaitGone(t, pid, "the killed engine's sandbox helper")
	}
	startDaemon(t, home)
	if left, _ := os.ReadDir(wire.PathsFor(home).Tmp); len(left) != 0 {
		t.Fatalf("call dirs of the killed engine are still there: %v", left)
	}
}
