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
// it appends its pid and its child's to pidfile (see WaitPIDs); and
// "outer", which appends its own pid and calls hang through the engine (a
// nested call).
const HangTools = `import os, subprocess, time
from agentos import provides, capability, progress

@provides("hang")
def hang(pidfile: str) -> dict:
    child = subprocess.Popen(["sleep", "300"])
    with open(pidfile, "a") as f:
        f.write("%d\n%d\n" % (os.getpid(), child.pid))
    progress(1, 2, "started")
    time.sleep(300)
    return {}

@provides("outer")
def outer(pidfile: str) -> dict:
    with open(pidfile, "a") as f:
        f.write("%d\n" % os.getpid())
    return capability("hang").invoke({"pidfile": pidfile})
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
	done := make(chan CallOutcome, 1)
	go func() {
		var req mcp.CallToolRequest
		req.Params.Name = "hang"
		req.Params.Arguments = map[string]any{"pidfile": pidfile}
		res, err := c.CallTool(ctx, req)
		done <- CallOutcome{res, err}
	}()
	return done
}
