package broker

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/agentos/agentos/broker/sandbox"
)

// forkStartTimeout bounds a template's start (imports included) and a call's
// fork; past it the call is spawned instead.
const forkStartTimeout = 10 * time.Second

// forkRetryAfter is how long a runner spawns after a template failed to start,
// before it tries one again.
const forkRetryAfter = 30 * time.Second

// forkServer is one running template: the sandbox helper running
// agentos/_forkserver.py and the engine's end of its control socket.
type forkServer struct {
	root   string
	launch *sandbox.Launch
	ctl    *net.UnixConn
	sendMu sync.Mutex
	dead   chan struct{} // closed when the helper has exited
	tail   *stderrTail
	// lastUsed is when a call last asked for it (under the runner's forkMu).
	lastUsed time.Time
}

// forkedCall is the engine's hold on a call the template forked: a pidfd of the
// call's worker (PID 1 of the call's PID namespace) and the reply socket on which
// the worker's exit is reported.
type forkedCall struct {
	pidfd int
	reply *net.UnixConn

	mu      sync.Mutex
	state   exitState
	refused []string // until the exit is reported
}

// forkIdleStop is how long a template may go unused before it is stopped: one
// made for a set of files grants that the user has since changed is never
// used again.
const forkIdleStop = 10 * time.Minute

// forkServerFor returns the running template for k, starting one when there
// is none or it died; nil (and the reason) when none can be had now.
func (r *Runner) forkServerFor(k templateKey) (*forkServer, error) {
	r.forkMu.Lock()
	defer r.forkMu.Unlock()
	now, key := time.Now(), k.id()
	for id, fs := range r.forks {
		if id != key && now.Sub(fs.lastUsed) > forkIdleStop {
			fs.stop()
			delete(r.forks, id)
		}
	}
	if fs := r.forks[key]; fs != nil {
		select {
		case <-fs.dead:
			delete(r.forks, key)
			r.log.Warn("fork server died; starting a new one", "root", k.root, "stderr", fs.tail.String())
		default:
			fs.lastUsed = now
			return fs, nil
		}
	}
	if t, ok := r.forkFailed[key]; ok && now.Sub(t) < forkRetryAfter {
		return nil, errors.New("fork server failed to start recently")
	}
	fs, err := r.startForkServer(k)
	if err != nil {
		r.forkFailed[key] = now
		return nil, err
	}
	delete(r.forkFailed, key)
	fs.lastUsed = now
	r.forks[key] = fs
	return fs, nil
}

// startForkServer starts a template inside the base sandbox: the network
// namespace, seccomp, no_new_privs and a Landlock ruleset of the interpreter,
// the SDK, root (read) and the temp dir (read-write), and waits for it to say ready.
func (r *Runner) startForkServer(k templateKey) (_ *forkServer, err error) {
	tmp := r.tempDir
	if tmp == "" {
		tmp = os.TempDir()
	}
	exec, libs := sandbox.InterpreterPaths(r.python)
	fc := forkConfig{Exec: exec, Libs: libs}
	if slices.Contains(r.sandbox.Layers, sandbox.LayerSeccomp) {
		fc.Seccomp = sandbox.SeccompProgram()
	}
	cfg, err := json.Marshal(fc)
	if err != nil {
		return nil, err
	}
	ctlEngine, ctlTemplate, err := seqpacketPair()
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	defer func() {
		ctlTemplate.Close()
		if err != nil {
			ctlEngine.Close()
		}
	}()
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer errW.Close()
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		errR.Close()
		return nil, err
	}
	defer devnull.Close()

	args := []string{r.python, "-I", "-S", "-c", forkServerScript, string(cfg), r.sdkDir}
	launch, err := r.sandbox.Prepare(sandbox.Spec{
		Path: r.python, Args: args, Env: workerEnv(tmp), Dir: tmp,
		Read: append([]string{r.sdkDir, k.root}, k.reads...), Write: k.writes,
		// The template's cgroup holds every call it forks.
		PidsMax: r.limits.Processes*cap(r.slots) + 16,
		// For each call's PID namespace; every call's process drops them.
		KeepCaps: true,
		// Each call's process installs the filter, with its own listener.
		SelfFiltered: len(fc.Seccomp) > 0,
	})
	if err != nil {
		errR.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	cmd := launch.Cmd
	cmd.Stdin, cmd.Stdout, cmd.Stderr = ctlTemplate, devnull, errW
	cmd.SysProcAttr.Setpgid, cmd.SysProcAttr.Pdeathsig = true, syscall.SIGKILL
	if err := launch.Start(); err != nil {
		launch.Close()
		errR.Close()
		return nil, err
	}
	// The template has its end now: ours closed, a template that dies at
	// start (no interpreter, a failed layer) is EOF at once, not a wait.
	ctlTemplate.Close()
	fs := &forkServer{root: k.root, launch: launch, ctl: ctlEngine, dead: make(chan struct{}), tail: newStderrTail(r.limits.StderrTail)}
	go func() {
		_, _ = io.Copy(fs.tail, errR)
		errR.Close()
	}()
	go func() {
		_ = cmd.Wait()
		launch.Close()
		close(fs.dead)
	}()
	_ = ctlEngine.SetReadDeadline(time.Now().Add(forkStartTimeout))
	msg, _, err := readReply(ctlEngine)
	_ = ctlEngine.SetReadDeadline(time.Time{})
	if err == nil && (!msg.Ready || !msg.PIDNS) {
		err = errors.New("the template cannot give a call its own PID namespace")
	}
	if err != nil {
		fs.stop()
		<-fs.dead
		return nil, fmt.Errorf("fork server did not start: %w (stderr: %s)", err, strings.TrimSpace(fs.tail.String()))
	}
	r.log.Debug("fork server started", "root", k.root, "grants", len(k.reads)+len(k.writes), "pid", cmd.Process.Pid)
	return fs, nil
}

// stop kills the template's helper (and so every call it forked).
func (fs *forkServer) stop() {
	fs.ctl.Close()
	_ = unix.Kill(-fs.launch.Cmd.Process.Pid, unix.SIGKILL)
}

// stopForkServers ends every template of the runner.
func (r *Runner) stopForkServers() {
	r.forkMu.Lock()
	defer r.forkMu.Unlock()
	for root, fs := range r.forks {
		fs.stop()
		delete(r.forks, root)
	}
}

// seqpacketPair returns a connected AF_UNIX SOCK_SEQPACKET pair: the engine's end
// as a conn, the other as a file to hand on.
func seqpacketPair() (*net.UnixConn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	f := os.NewFile(uintptr(fds[0]), "fork-socket")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	return c.(*net.UnixConn), os.NewFile(uintptr(fds[1]), "fork-socket-peer"), nil
}

// readReply reads one message and the fds it carries.
func readReply(c *net.UnixConn) (forkReply, []int, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return forkReply{}, nil, err
	}
	var fds []int
	if oobn > 0 {
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		for _, m := range msgs {
			if got, err := unix.ParseUnixRights(&m); err == nil {
				fds = append(fds, got...)
			}
		}
	}
	if n == 0 {
		return forkReply{}, fds, io.EOF
	}
	var msg forkReply
	if err := json.Unmarshal(buf[:n], &msg); err != nil {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return forkReply{}, nil, fmt.Errorf("fork server reply: %w", err)
	}
	return msg, fds, nil
}

// fork asks the template to run the worker command args on the call's pipe ends,
// and returns the call once its worker is ready (narrowed to the call).
func (fs *forkServer) fork(req forkRequest, stdin, stdout, stderr *os.File) (_ *forkedCall, err error) {
	replyEngine, replyTemplate, err := seqpacketPair()
	if err != nil {
		return nil, fmt.Errorf("reply socket: %w", err)
	}
	defer replyTemplate.Close()
	defer func() {
		if err != nil {
			replyEngine.Close()
		}
	}()
	data, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	rights := unix.UnixRights(int(stdin.Fd()), int(stdout.Fd()), int(stderr.Fd()), int(replyTemplate.Fd()))
	fs.sendMu.Lock()
	_, _, err = fs.ctl.WriteMsgUnix(data, rights, nil)
	fs.sendMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("send to fork server: %w", err)
	}
	replyTemplate.Close() // the template has its copy; ours would hide the call's end
	_ = replyEngine.SetReadDeadline(time.Now().Add(forkStartTimeout))
	msg, fds, err := readReply(replyEngine)
	_ = replyEngine.SetReadDeadline(time.Time{})
	if err != nil {
		return nil, fmt.Errorf("fork server: %w", err)
	}
	if msg.SetupError != "" || len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("fork server could not start the call: %s", msg.SetupError)
	}
	return &forkedCall{pidfd: fds[0], reply: replyEngine}, nil
}

// hostPID is the worker's pid as the engine sees it (for logs), from the
// pidfd's fdinfo; 0 when unknown.
func (fc *forkedCall) hostPID() int {
	f, err := os.Open("/proc/self/fdinfo/" + strconv.Itoa(fc.pidfd))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// watch reads the reply socket until the worker's exit is reported or the call's
// template is gone (EOF).
func (fc *forkedCall) watch() {
	for {
		msg, fds, err := readReply(fc.reply)
		for _, fd := range fds {
			unix.Close(fd)
		}
		if err != nil {
			return
		}
		fc.mu.Lock()
		if msg.DeniedNr != nil {
			fc.refused = sandbox.KeepRefused(fc.refused, sandbox.RefusedSyscall(*msg.DeniedNr, msg.Arg0))
		}
		done := msg.Status != nil
		if done {
			fc.state = exitState{known: true, ws: syscall.WaitStatus(*msg.Status), cpu: time.Duration(msg.CPUNanos), refused: fc.refused}
		}
		fc.mu.Unlock()
		if done {
			return
		}
	}
}

// signal sends sig to the worker. As PID 1 of its namespace it has handlers for
// SIGTERM, SIGHUP, SIGQUIT and the other signals that end a process (and Python's
// for SIGINT), so they end it as they end a spawned worker; SIGKILL ends the call's
// whole namespace.
func (fc *forkedCall) signal(sig unix.Signal) error {
	if err := unix.PidfdSendSignal(fc.pidfd, sig, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signal %s to forked call: %w", unix.SignalName(sig), err)
	}
	return nil
}

// hasExited reports, without waiting, whether the worker has exited.
func (fc *forkedCall) hasExited() bool {
	fds := []unix.PollFd{{Fd: int32(fc.pidfd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0
}

// exitState is the worker's end as the template reported it.
func (fc *forkedCall) exitState() exitState {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	st := fc.state
	st.refused = fc.refused
	return st
}

// close releases the pidfd and the reply socket.
func (fc *forkedCall) close() {
	unix.Close(fc.pidfd)
	fc.reply.Close()
}

// startForked starts c's worker on a fork server; an error means the caller
// spawns it instead.
func (r *Runner) startForked(c Call, dir string, args []string, callLine []byte) (w *workerProc, err error) {
	fs, err := r.forkServerFor(templateFor(c))
	if err != nil {
		return nil, err
	}
	var opened []*os.File
	defer func() {
		for _, f := range opened {
			f.Close()
		}
	}()
	var ends [6]*os.File
	for i := 0; i < 6; i += 2 {
		rd, wr, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("pipe: %w", err)
		}
		ends[i], ends[i+1] = rd, wr
		opened = append(opened, rd, wr)
	}
	inR, inW, outR, outW, errR, errW := ends[0], ends[1], ends[2], ends[3], ends[4], ends[5]
	sent := prewrite(inW, callLine)
	req := forkRequest{Argv: args[3:], // the script and its flags, as sys.argv
		Env: workerEnv(dir), Dir: dir, Read: append([]string{r.sdkDir, c.SkillDir}, c.ReadPaths...), Write: c.WritePaths}
	for _, rl := range r.limits.rlimits() {
		req.Rlimits = append(req.Rlimits, [2]int64{int64(rl.Resource), int64(rl.Value)})
	}
	fc, err := fs.fork(req, inR, outW, errW)
	if err != nil {
		return nil, err
	}
	opened = []*os.File{inR, outW, errW} // the call holds its copies; ours would hide EOF
	w = &workerProc{
		pid:        fc.hostPID(),
		stdin:      inW,
		stdout:     outR,
		stderr:     errR,
		tail:       newStderrTail(r.limits.StderrTail),
		stderrDone: make(chan struct{}),
		exited:     make(chan struct{}),
		forked:     fc,
		callSent:   sent,
	}
	go w.drainStderr()
	go func() {
		defer close(w.exited)
		fc.watch()
	}()
	return w, nil
}
