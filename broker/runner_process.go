package broker

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/agentos/agentos/broker/sandbox"
)

// workerScript is the SDK's entry shim, run by absolute path inside SDKDir.
const workerScript = "agentos_worker.py"

// workerProc is one started worker process and the engine's ends of its pipes.
type workerProc struct {
	cmd    *exec.Cmd
	pid    int
	stdin  *os.File // write end: the call line, then op results
	stdout *os.File // read end: protocol lines
	stderr *os.File // read end: drained into tail

	tail       *stderrTail
	stderrDone chan struct{} // closed when the stderr drain stops
	exited     chan struct{} // closed when the leader has exited; it stays unreaped until reap

	sendMu   sync.Mutex // one line at a time on stdin
	callSent bool       // the call line was written before the worker started

	// launch is the sandbox helper that runs the interpreter as init of the
	// call's namespaces; nil when the worker is the interpreter itself.
	launch *sandbox.Launch
	// forked is set when a fork server started the worker (runner: fork); cmd
	// is nil then.
	forked *forkedCall
}

// exitState is how the interpreter ended: its own wait status, or the one the
// sandbox helper reported for it.
type exitState struct {
	known    bool
	ws       syscall.WaitStatus
	cpu      time.Duration
	setupErr string   // the sandbox could not be set up; the interpreter never ran
	refused  []string // syscalls the sandbox's seccomp filter refused the call
}

// workerEnv is the whole environment of a worker (docs/worker-protocol.md): nothing
// of the engine's own environment leaks into skill code.
func workerEnv(dir string) []string {
	return []string{
		"PATH=/usr/bin:/bin",
		"HOME=" + dir,
		"TMPDIR=" + dir,
		"LANG=C.UTF-8",
		"PYTHONDONTWRITEBYTECODE=1",
		"PYTHONIOENCODING=utf-8",
	}
}

// startWorker starts the interpreter on the SDK shim in its own process group with
// dir as working directory, and starts draining its stderr and watching for its exit.
//
// The pipes are created here rather than with Cmd.StdoutPipe and friends: exec's
// pipes are closed by Wait and give no way to stop a read, while a grandchild that
// inherited stdout can keep it open forever. Our ends are pollable, so deadlines can
// always unblock them.
//
// With the sandbox active the process started is the sandbox helper (package
// sandbox), which applies the layers and runs the interpreter as its child; the
// group, the pipes and the kill semantics are the same.
func (r *Runner) startWorker(c Call, dir string, callLine []byte) (w *workerProc, err error) {
	python, sdkDir, limits := r.python, r.sdkDir, r.limits
	if r.forkable(c) {
		args := []string{python, "-I", "-S", filepath.Join(sdkDir, workerScript), "--sdk", sdkDir, "--skill", c.SkillDir}
		w, err := r.startForked(c, dir, append(args, limits.workerArgs()...), callLine)
		if err == nil {
			return w, nil
		}
		r.log.Warn("fork server unavailable; spawning the call", "err", err)
	}
	var opened []*os.File
	defer func() {
		if err != nil {
			for _, f := range opened {
				f.Close()
			}
		}
	}()
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			opened = append(opened, r, w)
		}
		return r, w, err
	}
	inR, inW, err := pipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}

	outR, outW, err := pipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	errR, errW, err := pipe()
	if err != nil {
		return nil, fmt.Errorf("stderr pipe: %w", err)
	}

	args := []string{python, "-I", "-S", filepath.Join(sdkDir, workerScript), "--sdk", sdkDir, "--skill", c.SkillDir}
	args = append(args, limits.workerArgs()...)
	var launch *sandbox.Launch
	cmd := &exec.Cmd{Path: python, Args: args, Env: workerEnv(dir), Dir: dir}
	if r.sandbox.Active() {
		launch, err = r.sandbox.Prepare(sandbox.Spec{
			Path: python, Args: args, Env: workerEnv(dir), Dir: dir,
			Read:    append([]string{sdkDir, c.SkillDir}, c.ReadPaths...),
			Write:   c.WritePaths,
			Rlimits: limits.rlimits(),
			PidsMax: limits.Processes,
		})
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		cmd = launch.Cmd
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// Own group, so one signal reaches everything the skill forked; Pdeathsig so
	// a crashed engine does not leave workers behind (in the sandbox, the helper's
	// death ends its PID namespace and with it every process of the call).
	cmd.SysProcAttr.Setpgid, cmd.SysProcAttr.Pdeathsig = true, syscall.SIGKILL
	var startErr error
	if launch != nil {
		startErr = launch.Start()
	} else {
		startErr = cmd.Start()
	}
	// The child holds its own copies now; keeping ours would hide EOF from us.
	inR.Close()
	outW.Close()
	errW.Close()
	if startErr != nil {
		if launch != nil {
			launch.Close()
		}
		return nil, startErr // already names the binary: "fork/exec /path: ..."
	}
	w = &workerProc{
		cmd:        cmd,
		pid:        cmd.Process.Pid,
		stdin:      inW,
		stdout:     outR,
		stderr:     errR,
		tail:       newStderrTail(limits.StderrTail),
		stderrDone: make(chan struct{}),
		exited:     make(chan struct{}),
		launch:     launch,
	}
	go w.drainStderr()
	go w.watchExit()
	return w, nil
}

// prewriteMax is the largest call line written into the worker's stdin before
// it starts: far below a pipe's 64 KiB, so the write never blocks.
const prewriteMax = 16 << 10

// prewrite writes a small call line into the empty stdin pipe before a forked
// worker exists, so the worker finds its call as soon as it reads (its rlimits
// are set before it reads); a larger one is sent later, by a goroutine, as the
// worker drains it. A spawned worker gets its line after applyLimits. It
// reports whether it wrote.
func prewrite(stdin *os.File, line []byte) bool {
	if len(line) > prewriteMax {
		return false
	}
	_, err := stdin.Write(line)
	return err == nil
}

// applyLimits sets the rlimits on the interpreter from outside. A sandbox helper
// sets them on the interpreter it starts instead: on the helper itself (a Go
// program that reserves address space up front) a memory limit would kill it.
func (w *workerProc) applyLimits(l Limits) error {
	if w.launch != nil || w.forked != nil {
		return nil
	}
	return l.applyTo(w.pid)
}

// drainStderr copies stderr into the tail until EOF or until the read is cut off; the
// tail never blocks, so a worker flooding stderr can never stall on it.
func (w *workerProc) drainStderr() {
	defer close(w.stderrDone)
	_, _ = io.Copy(w.tail, w.stderr)
}

// watchExit waits for the leader to exit without reaping it (WNOWAIT): while it is an
// unreaped zombie its pid, which is also the group id, cannot be reused, so signalling
// the group stays safe until reap.
func (w *workerProc) watchExit() {
	defer close(w.exited)
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, w.pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// hasExited reports, without waiting or reaping, whether the leader has
// exited: its watchExit goroutine may not have run yet on a loaded machine.
func (w *workerProc) hasExited() bool {
	if w.forked != nil {
		return w.forked.hasExited()
	}
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, w.pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	// With WNOHANG, a leader still running leaves info's pid zero.
	return err == nil && info.Signo != 0
}

// signalGroup sends sig to every process in the worker's group. ESRCH (nobody left)
// is not an error worth reporting.
func (w *workerProc) signalGroup(sig unix.Signal) error {
	if w.forked != nil {
		return w.forked.signal(sig)
	}
	if err := unix.Kill(-w.pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signal %s to process group %d: %w", unix.SignalName(sig), w.pid, err)
	}
	return nil
}

// terminate asks the group to stop, gives the leader grace to do so, then kills the
// group whatever happened.
func (w *workerProc) terminate(grace time.Duration) error {
	termErr := w.signalGroup(unix.SIGTERM)
	t := time.NewTimer(grace)
	select {
	case <-w.exited:
	case <-t.C:
	}
	t.Stop()
	return errors.Join(termErr, w.signalGroup(unix.SIGKILL))
}

// send writes one protocol line to the worker's stdin.
func (w *workerProc) send(line []byte) error {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	_, err := w.stdin.Write(line)
	return err
}

// reap kills whatever is left of the group, collects the leader's exit status and
// releases the pipes. Every started worker goes through it exactly once.
func (w *workerProc) reap(drain time.Duration) (exitState, error) {
	killErr := w.signalGroup(unix.SIGKILL)
	<-w.exited
	// Once more, now that the leader is gone: catches anything it forked after the
	// first signal. The zombie leader still holds the group id.
	killErr = errors.Join(killErr, w.signalGroup(unix.SIGKILL))
	var waitErr error
	if w.cmd != nil {
		waitErr = w.cmd.Wait()
	}
	var exitErr *exec.ExitError
	if errors.As(waitErr, &exitErr) {
		waitErr = nil // a non-zero status is information, not a failure to wait
	}

	// Unblock and close our ends. A writer blocked on a full stdin pipe returns now.
	_ = w.stdin.SetWriteDeadline(time.Now())
	w.stdin.Close()

	// Everything in the group is dead, so stderr reaches EOF once the pipe is empty;
	// only a process that left the group could hold it open, and it gets drain.
	t := time.NewTimer(drain)
	select {
	case <-w.stderrDone:
	case <-t.C:
		_ = w.stderr.SetReadDeadline(time.Now())
		<-w.stderrDone
	}
	t.Stop()
	w.stderr.Close()
	return w.exitState(), errors.Join(killErr, waitErr)
}

// exitState is the interpreter's end: the helper's report when sandboxed (the
// helper, as init, cannot die by the interpreter's signal), else the process's own.
func (w *workerProc) exitState() exitState {
	if w.forked != nil {
		w.forked.close()
		return w.forked.exitState()
	}
	var refused []string
	if w.launch != nil {
		res, ok := w.launch.Result()
		w.launch.Close()
		if ok {
			return exitState{known: true, ws: res.Status, cpu: res.CPU, setupErr: res.SetupError, refused: res.Refused}
		}
		refused = res.Refused
	}
	state := w.cmd.ProcessState
	if state == nil {
		return exitState{refused: refused}
	}
	ws, _ := state.Sys().(syscall.WaitStatus)
	return exitState{known: true, ws: ws, cpu: state.UserTime() + state.SystemTime(), refused: refused}
}
