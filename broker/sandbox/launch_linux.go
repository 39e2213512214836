package sandbox

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// childArg and probeArg are the hidden first arguments MaybeRunChild answers.
const (
	childArg = "__agentos-sandbox"
	probeArg = "__agentos-sandbox-probe"
)

// Descriptors the helper finds its spec on and reports the interpreter's status on.
const (
	specFD   = 3
	statusFD = 4
)

// hooked is set by MaybeRunChild in the parent: without the hook, re-executing
// this program would run its ordinary main instead of the helper.
var hooked atomic.Bool

var probed = sync.OnceValues(probe)

// Probe reports the layers a worker would get under mode. The kernel is probed
// once per process (namespaces by starting one helper).
func Probe(mode Mode) Status {
	have, why := probed()
	return status(mode, have, why)
}

func probe() (have []string, why map[string]string) {
	why = map[string]string{}
	if !hooked.Load() {
		for _, l := range AllLayers {
			why[l] = "this program does not call sandbox.MaybeRunChild"
		}
		return nil, why
	}
	if _, err := os.Executable(); err != nil {
		for _, l := range AllLayers {
			why[l] = "cannot find this program's executable: " + err.Error()
		}
		return nil, why
	}
	have = append(have, LayerNoNewPrivs, LayerNoCaps)
	if seccompArch == 0 {
		why[LayerSeccomp] = "no seccomp filter for this CPU architecture"
	} else if !seccompAvailable() {
		why[LayerSeccomp] = "the kernel has no seccomp filters"
	} else {
		have = append(have, LayerSeccomp)
	}
	if abi := landlockABI(); abi < 1 {
		why[LayerLandlock] = "the kernel has no Landlock (or it is not enabled in the LSM list)"
	} else {
		have = append(have, LayerLandlock)
	}
	for _, ns := range []struct {
		layer string
		flag  uintptr
	}{{LayerNetNS, unix.CLONE_NEWNET}, {LayerPIDNS, unix.CLONE_NEWPID}} {
		if err := probeNamespace(ns.flag); err != nil {
			why[ns.layer] = err.Error()
		} else {
			have = append(have, ns.layer)
		}
	}
	if _, err := cgroupBase(); err != nil {
		why[LayerPids] = err.Error()
	} else {
		have = append(have, LayerPids)
	}
	return have, why
}

// cloneAttr returns the SysProcAttr that puts a child in new namespaces: as root
// directly, otherwise inside a new user namespace mapping our own ids.
func cloneAttr(flags uintptr) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Cloneflags: flags}
	if flags != 0 && os.Geteuid() != 0 {
		attr.Cloneflags |= unix.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Geteuid(), HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getegid(), HostID: os.Getegid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	return attr
}

func probeNamespace(flag uintptr) error {
	exe, _ := os.Executable()
	cmd := exec.Command(exe, probeArg)
	cmd.Env = []string{}
	cmd.SysProcAttr = cloneAttr(flag)
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("cannot create the namespace: %w", err)
	}
	return nil
}

// cgroupBase is pidsCgroupBase found once per process: its probe makes and
// removes a folder named after this process, which calls made at once would
// race on (one failing, and its call running without the cap).
var cgroupBase = sync.OnceValues(pidsCgroupBase)

// pidsCgroupBase returns this process's cgroup v1 pids folder when a child cgroup
// can be made in it.
func pidsCgroupBase() (string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Errorf("no cgroup information: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 || !slices.Contains(strings.Split(parts[1], ","), "pids") {
			continue
		}
		base := filepath.Join("/sys/fs/cgroup/pids", parts[2])
		probe := filepath.Join(base, fmt.Sprintf("agentos-probe-%d", os.Getpid()))
		if err := os.Mkdir(probe, 0o755); err != nil {
			return "", fmt.Errorf("cannot make a pids cgroup: %w", err)
		}
		_ = os.Remove(probe)
		return base, nil
	}
	return "", errors.New("no cgroup v1 pids controller (cgroup v2 pids caps are not supported yet)")
}

var cgroupSeq atomic.Uint64

// Launch is one helper process: Start it, Wait on Cmd, then read Result and Close.
type Launch struct {
	Cmd     *exec.Cmd
	spec    []byte
	specW   *os.File
	statusR *os.File
	child   []*os.File // the helper's ends, closed once it started
	cgroup  string

	// The status pipe is read as the helper writes it (reports), so a flood
	// of refused syscalls never fills it and stalls the call.
	res      Result
	resOK    bool
	reported chan struct{} // closed when the pipe ended
}

// Prepare builds the helper command for spec under st's layers. The caller sets
// Stdin, Stdout, Stderr and may add to SysProcAttr (process group, Pdeathsig).
func (st Status) Prepare(spec Spec) (_ *Launch, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the sandbox helper: %w", err)
	}
	cs := childSpec{Spec: spec, NoNewPrivs: true, DropCaps: st.has(LayerNoCaps) && !spec.KeepCaps, Seccomp: st.has(LayerSeccomp) && !spec.SelfFiltered, Landlock: st.has(LayerLandlock)}
	cs.Dir = filepath.Clean(spec.Dir)
	cs.Read = cleanAll(spec.Read)
	cs.Write = cleanAll(spec.Write)
	cs.Exec, cs.Libs = InterpreterPaths(spec.Path)
	l := &Launch{}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	if st.has(LayerPids) && spec.PidsMax > 0 {
		// The layer is reported active: a call never runs without it.
		base, berr := cgroupBase()
		if berr != nil {
			return nil, fmt.Errorf("pids cgroup: %w", berr)
		}
		dir := filepath.Join(base, fmt.Sprintf("agentos-call-%d-%d", os.Getpid(), cgroupSeq.Add(1)))
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("make pids cgroup: %w", err)
		}
		l.cgroup = dir
		if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.Itoa(spec.PidsMax)), 0); err != nil {
			return nil, fmt.Errorf("set pids.max: %w", err)
		}
		cs.Cgroup = dir
	}
	if l.spec, err = json.Marshal(cs); err != nil {
		return nil, fmt.Errorf("encode sandbox spec: %w", err)
	}
	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox spec pipe: %w", err)
	}
	l.specW, l.child = specW, append(l.child, specR)
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox status pipe: %w", err)
	}
	l.statusR, l.child = statusR, append(l.child, statusW)

	var flags uintptr
	if st.has(LayerNetNS) {
		flags |= unix.CLONE_NEWNET
	}
	if st.has(LayerPIDNS) {
		flags |= unix.CLONE_NEWPID
	}
	l.Cmd = &exec.Cmd{
		Path:        exe,
		Args:        []string{exe, childArg},
		Env:         []string{},
		Dir:         cs.Dir,
		ExtraFiles:  []*os.File{specR, statusW}, // fds 3 and 4
		SysProcAttr: cloneAttr(flags),
	}
	return l, nil
}

// Start starts the helper and hands it the spec.
func (l *Launch) Start() error {
	err := l.Cmd.Start()
	for _, f := range l.child {
		f.Close()
	}
	l.child = nil
	if err != nil {
		return err
	}
	// Small enough for the pipe buffer; a helper that died early gives EPIPE,
	// and its exit tells the rest.
	_, _ = l.specW.Write(l.spec)
	l.specW.Close()
	l.specW = nil
	l.reported = make(chan struct{})
	go l.reports()
	return nil
}

// reports reads the helper's status pipe until it ends: refused syscalls as
// they come (kept up to MaxRefused), then the final report or a setup error.
func (l *Launch) reports() {
	defer close(l.reported)
	dec := json.NewDecoder(l.statusR)
	for {
		var rep report
		if err := dec.Decode(&rep); err != nil {
			return // the helper ended (or was killed before its final report)
		}
		switch {
		case rep.Denied != "":
			l.res.Refused = KeepRefused(l.res.Refused, rep.Denied)
		case rep.SetupError != "":
			l.res.SetupError, l.resOK = rep.SetupError, true
			return
		case rep.Final:
			l.res.Status, l.res.CPU, l.resOK = syscall.WaitStatus(rep.Status), time.Duration(rep.CPUNanos), true
			return
		}
	}
}

// Result is what the helper reported about the interpreter, read after the
// helper was waited for. ok is false when it reported nothing (it was killed).
type Result struct {
	Status     syscall.WaitStatus
	CPU        time.Duration
	SetupError string   // a layer could not be applied; the interpreter never ran
	Refused    []string // syscalls the seccomp filter refused, by name (RefusedSyscall)
}

// report is one line on the helper's status pipe: a refused syscall, or the
// final report (or a setup error).
type report struct {
	Status     uint32 `json:"status,omitempty"`
	CPUNanos   int64  `json:"cpu_ns,omitempty"`
	SetupError string `json:"setup_error,omitempty"`
	Denied     string `json:"denied,omitempty"`
	Final      bool   `json:"final,omitempty"`
}

// Result reads the helper's reports; call it only after the helper has exited.
// ok is false when the final one is missing (the helper was killed), but the
// refused syscalls it reported before are in the Result all the same.
func (l *Launch) Result() (Result, bool) {
	if l.statusR == nil || l.reported == nil {
		return Result{}, false
	}
	_ = l.statusR.SetReadDeadline(time.Now().Add(time.Second))
	<-l.reported
	return l.res, l.resOK
}

// Close releases the pipes and removes the call's cgroup.
func (l *Launch) Close() {
	for _, f := range append(l.child, l.specW, l.statusR) {
		if f != nil {
			f.Close()
		}
	}
	l.child, l.specW, l.statusR = nil, nil, nil
	if l.cgroup != "" {
		// The helper's exit waits for the namespace to empty, but the cgroup may
		// still count exiting tasks for a moment.
		for i := 0; i < 50; i++ {
			if err := os.Remove(l.cgroup); err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		l.cgroup = ""
	}
}

// SweepCgroups removes the pids cgroups that helpers of dead processes left
// behind (an engine killed with kill -9 cannot remove its own). A cgroup is
// named after the pid that made it; one whose maker is alive, or that still
// holds a process (rmdir refuses it), is left alone. It returns how many it
// removed.
func SweepCgroups() int {
	base, err := cgroupBase()
	if err != nil {
		return 0
	}
	entries, err := os.ReadDir(base)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "agentos-call-")
		if !e.IsDir() || !ok {
			continue
		}
		pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
		if err != nil || pid == os.Getpid() || unix.Kill(pid, 0) != unix.ESRCH {
			continue
		}
		if os.Remove(filepath.Join(base, e.Name())) == nil {
			n++
		}
	}
	return n
}
