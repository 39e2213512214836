package testkit

import (
	"context"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// CountTools is a skill's tools.py providing "count": it reports progress
// at each of n steps, 150 ms apart, then returns {"counted": n}.
const CountTools = `import time
from agentos import provides, progress

@provides("count")
def count(n: int) -> dict:
    for i in range(n):
        progress(i + 1, n, "step %d" % (i + 1))
        time.sleep(0.15)
    return {"counted": n}
`

// HangTools is a skill's tools.py providing "hang", which never returns:
// it starts a child that sleeps with marker as its last argument (see
// Marked: pass SkillDir, and Marked finds the worker too), and with a
// pidfile also appends its pid and its child's to it (see WaitPIDs; only
// without the sandbox, which denies writes there and has pids of its own);
// and "outer", which calls hang through the engine (a nested call), having
// appended its own pid to pidfile if given. The child is sys.executable, the
// one program the sandbox lets a skill start.
const HangTools = `import os, subprocess, sys, time
from agentos import provides, capability, progress

@provides("hang")
def hang(marker: str = "agentos-hang", pidfile: str = "") -> dict:
    child = subprocess.Popen([sys.executable, "-I", "-S", "-c", "import time; time.sleep(600)", marker])
    if pidfile:
        with open(pidfile, "a") as f:
            f.write("%d\n%d\n" % (os.getpid(), child.pid))
    progress(1, 2, "started")
    time.sleep(600)
    return {}

@provides("outer")
def outer(marker: str = "agentos-hang", pidfile: str = "") -> dict:
    if pidfile:
        with open(pidfile, "a") as f:
            f.write("%d\n" % os.getpid())
    return capability("hang").invoke({"marker": marker, "pidfile": pidfile})
`

// CallOutcome is how a tools/call started by CallHang ended.
type CallOutcome struct {
	Result *mcp.CallToolResult
	Err    error
}

// CallHang calls HangTools' "hang" through an MCP client on its own
// goroutine (it never returns by itself) and delivers how the call ended;
// its worker and child write their pids to pidfile (see WaitPIDs).
func CallHang(ctx context.Context, c *client.Client, pidfile string) <-chan CallOutcome {
	return callHang(ctx, c, map[string]any{"pidfile": pidfile})
}

// CallHangMarked is CallHang with the child marked by marker (see Marked)
// instead of pids written to a file: what works under the sandbox.
func CallHangMarked(ctx context.Context, c *client.Client, marker string) <-chan CallOutcome {
	return callHang(ctx, c, map[string]any{"marker": marker})
}

func callHang(ctx context.Context, c *client.Client, args map[string]any) <-chan CallOutcome {
	done := make(chan CallOutcome, 1)
	go func() {
		var req mcp.CallToolRequest
		req.Params.Name = "hang"
		req.Params.Arguments = args
		res, err := c.CallTool(ctx, req)
		done <- CallOutcome{res, err}
	}()
	return done
}
