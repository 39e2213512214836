package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// childSpec is what the runner hands the helper: the Spec and the layers to apply.
type childSpec struct {
	Spec
	Exec       []string `json:"exec"` // the interpreter binary: read and execute
	Libs       []string `json:"libs"` // its stdlib and shared libraries: read and execute
	Cgroup     string   `json:"cgroup,omitempty"`
	NoNewPrivs bool     `json:"no_new_privs"`
	DropCaps   bool     `json:"drop_caps"`
	Seccomp    bool     `json:"seccomp"`
	Landlock   bool     `json:"landlock"`
}

// init becomes the helper before the rest of the program initialises: Go
// runs package inits in import-path order as their dependencies allow, so
// this one (which needs only the standard library and x/sys) runs ahead of
// the agentos binary's heavier ones (a JSON Schema compiler's meta-schemas
// alone cost ~8 ms), which a helper that only confines and execs never
// needs. MaybeRunChild still marks the program as one that can be its own
// helper: without that call the runner does not use it.
func init() { dispatchChild() }

// MaybeRunChild turns this process into the sandbox helper when it was started as
// one, and never returns then. Call it first thing in main (and in TestMain).
func MaybeRunChild() {
	dispatchChild()
	hooked.Store(true)
}

// dispatchChild runs the helper (or answers the probe) when this process was
// started as one, and never returns then.
func dispatchChild() {
	if len(os.Args) >= 2 {
		switch os.Args[1] {
		case childArg:
			os.Exit(runChild())
		case probeArg:
			os.Exit(0)
		}
	}
}

// runChild is the helper: init of the call's namespaces. Everything it applies is
// per thread (no_new_privs, Landlock, seccomp), so it locks itself to the thread
// that later forks the interpreter.
func runChild() int {
	runtime.LockOSThread()
	unix.CloseOnExec(specFD)
	unix.CloseOnExec(statusFD)
	statusOut := os.NewFile(statusFD, "sandbox-status")
	fail := func(step string, err error) int {
		msg := fmt.Sprintf("sandbox: %s: %v", step, err)
		fmt.Fprintln(os.Stderr, "agentos", msg)
		_ = json.NewEncoder(statusOut).Encode(report{SetupError: msg})
		return 125
	}
	var cs childSpec
	specIn := os.NewFile(specFD, "sandbox-spec")
	if err := json.NewDecoder(specIn).Decode(&cs); err != nil {
		return fail("read spec", err)
	}
	specIn.Close()

	// Init gets only the signals it handles: these are passed on to the interpreter.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)

	if cs.Cgroup != "" {
		if err := os.WriteFile(filepath.Join(cs.Cgroup, "cgroup.procs"), []byte("0"), 0); err != nil {
			return fail("join pids cgroup", err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fail("no_new_privs", err)
	}
	if cs.Landlock {
		if err := applyLandlock(cs); err != nil {
			return fail("landlock", err)
		}
	}
	// The status pipe carries a line per refused syscall, then the final report.
	var statusMu sync.Mutex
	send := func(r report) {
		statusMu.Lock()
		defer statusMu.Unlock()
		_ = json.NewEncoder(statusOut).Encode(r)
	}
	if cs.Seccomp {
		listener, err := applySeccomp()
		if err != nil {
			return fail("seccomp", err)
		}
		unix.CloseOnExec(listener)
		go superviseSeccomp(listener, func(name string) { send(report{Denied: name}) })
	}
	if cs.DropCaps {
		if err := dropCapabilities(); err != nil {
			return fail("drop capabilities", err)
		}
	}
	proc, err := os.StartProcess(cs.Path, cs.Args, &os.ProcAttr{
		Dir:   cs.Dir,
		Env:   cs.Env,
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		return fail("start interpreter", err)
	}
	pid := proc.Pid
	// The interpreter has its own copies: holding ours would hide its closing
	// stdout from the runner.
	for fd := 0; fd <= 2; fd++ {
		_ = unix.Close(fd)
	}
	for _, rl := range cs.Rlimits {
		lim := unix.Rlimit{Cur: rl.Value, Max: rl.Value}
		_ = unix.Prlimit(pid, rl.Resource, &lim, nil) // the shim sets them too
	}
	go func() {
		for s := range sigs {
			_ = unix.Kill(pid, s.(syscall.Signal))
		}
	}()
	// Reap everything orphaned into this namespace until the interpreter exits; its
	// exit ends the namespace, and the kernel kills whatever is left.
	for {
		var ws unix.WaitStatus
		var ru unix.Rusage
		got, err := unix.Wait4(-1, &ws, 0, &ru)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fail("wait for interpreter", err)
		}
		if got != pid {
			continue
		}
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		send(report{Status: uint32(ws), CPUNanos: int64(cpu), Final: true})
		switch {
		case ws.Exited():
			return ws.ExitStatus()
		case ws.Signaled():
			return 128 + int(ws.Signal())
		}
		return 1
	}
}

// dropCapabilities empties this thread's bounding, ambient, effective,
// permitted and inheritable sets, so that the interpreter it starts holds no
// capability, even as root: exec gives root the bounding set, now empty.
func dropCapabilities() error {
	for c := 0; c < 64; c++ {
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		if err == unix.EINVAL {
			break // past the kernel's last capability
		}
		if err != nil && os.Geteuid() == 0 {
			// Without CAP_SETPCAP an ordinary user has nothing to drop; root must.
			return fmt.Errorf("bounding set, capability %d: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("ambient set: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var none [2]unix.CapUserData
	if err := unix.Capset(&hdr, &none[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}
