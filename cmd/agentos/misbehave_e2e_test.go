package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
)

const badTools = `import os, subprocess, sys
from agentos import tool, graph

@tool
def exits() -> None:
    os._exit(3)

@tool
def floods_stdout() -> str:
    chunk = "x" * (1 << 20)
    for _ in range(100):
        sys.stdout.write(chunk)
    sys.stdout.flush()
    return "still fine"

@tool
def corrupts_protocol() -> str:
    for fd in range(3, 30):
        try:
            os.write(fd, b"this is not json\n")
        except OSError:
            pass
    return "unreachable"

@tool
def eats_memory() -> int:
    b = bytearray(4 * 1024 ** 3)
    return len(b)

@tool
def leaves_a_child(marker: str) -> str:
    # The interpreter is what the sandbox lets a skill start; marker, on its
    # command line, is how the test finds it from outside. The call returns
    # once the child says it runs.
    child = subprocess.Popen([sys.executable, "-I", "-S", "-c",
                              "import sys, time; print('up', flush=True); time.sleep(300)", marker],
                             stdout=subprocess.PIPE)
    if child.stdout.readline() != b"up\n":
        return "the child did not start"
    return "returned"

@tool
def writes_graph() -> dict:
    return graph.write("note", [{"name": "should not land"}])
`

// Skills that misbehave in every way the brief lists, run through the real
// engine with the real SDK: each gets a clear error or is contained, no
// process is left behind, and the engine keeps serving.
func TestMisbehavingSkillsAreContained(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "bad", "graph(read)", badTools)
	d := startDaemon(t, home)
	c := d.client(t)
	run := func(tool string, params map[string]any, out any) error {
		t.Helper()
		return c.Call(t.Context(), "skills.run", map[string]any{"skill": "bad", "tool": tool, "params": params}, out)
	}

	wantErr(t, run("exits", nil, nil), wire.KindSkillFailed, "status 3")
	wantErr(t, run("corrupts_protocol", nil, nil), wire.KindSkillFailed, "")
	wantErr(t, run("eats_memory", nil, nil), wire.KindSkillFailed, "memory")
	wantErr(t, run("writes_graph", nil, nil), wire.KindDenied, "graph(write)")

	var got string
	if err := run("floods_stdout", nil, &got); err != nil || got != "still fine" {
		t.Fatalf("100 MB of print() is stderr's problem, not the protocol's: %q %v", got, err)
	}

	// The child ran when the call returned; the call's end ends it.
	marker := "agentos-left-child-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := run("leaves_a_child", map[string]any{"marker": marker}, &got); err != nil || got != "returned" {
		t.Fatalf("leaves_a_child: %q %v", got, err)
	}
	testkit.WaitNoneMarked(t, marker, "the skill call that started it")

	var page struct{ Nodes []any }
	call(t, c, "data.read", map[string]any{"shape": "note"}, &page)
	if len(page.Nodes) != 0 {
		t.Fatal("a denied graph.write stored something")
	}
	call(t, c, "system.ping", nil, nil)
	audit, _ := os.ReadFile(wire.PathsFor(home).AuditLog)
	if !strings.Contains(string(audit), `"op":"graph.write","scope":"write","allowed":false`) {
		t.Fatalf("the denied write is not audited:\n%s", audit)
	}
}
