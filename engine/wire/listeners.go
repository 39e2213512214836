package wire

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// AnnouncedListener is an address one of this home's own processes listens
// on, apart from the engine: `agentos mcp --http`. The engine's http op never
// connects to one, whatever a skill's allowed-tools say.
type AnnouncedListener struct {
	Name string // "mcp"
	Addr string // host:port as it listens
	PID  int
}

// AnnounceListener records that this process listens on addr as name, in
// Paths.Listeners (a file name-PID holding addr, in a 0700 folder), and
// returns the func that removes the record; call it when the listener
// closes. A record whose process is gone is ignored and swept by Listeners.
func AnnounceListener(p Paths, name, addr string) (remove func(), err error) {
	if err := os.MkdirAll(p.Listeners, 0o700); err != nil {
		return nil, fmt.Errorf("announce listener: %w", err)
	}
	path := filepath.Join(p.Listeners, fmt.Sprintf("%s-%d", name, os.Getpid()))
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(addr+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("announce listener: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("announce listener: %w", err)
	}
	return func() { os.Remove(path) }, nil
}

// Listeners returns the announced listeners of live processes, removing the
// records of processes that are gone.
func Listeners(p Paths) []AnnouncedListener {
	entries, err := os.ReadDir(p.Listeners)
	if err != nil {
		return nil
	}
	var out []AnnouncedListener
	for _, e := range entries {
		i := strings.LastIndexByte(e.Name(), '-')
		if i <= 0 || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		pid, err := strconv.Atoi(e.Name()[i+1:])
		if err != nil || pid <= 0 {
			continue
		}
		path := filepath.Join(p.Listeners, e.Name())
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.Remove(path)
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		out = append(out, AnnouncedListener{Name: e.Name()[:i], Addr: strings.TrimSpace(string(b)), PID: pid})
	}
	return out
}
