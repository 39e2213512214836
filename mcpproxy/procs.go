package mcpproxy

import (
	"os"
	"runtime"
)

// UseOneCPU runs the Go scheduler on one processor (GOMAXPROCS=1) unless
// the GOMAXPROCS environment variable says otherwise. It is for a process
// whose one job is a stdio session, as `agentos mcp` is: each call hands
// over between goroutines (the read loop, a worker, the engine client's
// reader), and with more than one processor every hand-over wakes another
// OS thread. On the 2-core reference machine one processor took a third
// off what the proxy adds to a tools/call (docs/performance.md). Its work
// is relaying, so one processor is not what limits it; the HTTP server,
// which serves many clients at once, keeps them all.
func UseOneCPU() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
