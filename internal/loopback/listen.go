package loopback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrNotLoopback is returned by Listen for an address that is not, or does
// not resolve to, a loopback one.
var ErrNotLoopback = errors.New("not loopback")

// Options configure Listen and SameUser.
type Options struct {
	// Name is what the listener serves ("bridge", "mcp"), in log lines.
	Name string
	// Logger gets refused connections (at most one line a second, with a
	// count) and the reason a check could not be made. Nil logs nothing.
	Logger *slog.Logger
	// MaxChecks bounds the peer checks running at once; past that, new
	// connections wait in the kernel's backlog. Default 64.
	MaxChecks int

	// lookup replaces the kernel lookup in tests (to run the /proc fallback).
	lookup func(local, remote *net.TCPAddr) (int, error)
}

const defaultMaxChecks = 64

// Listen opens addr (host:port, the host a loopback name or address) for
// TCP and returns SameUser of it. A name is checked again as it resolved:
// "x.localhost" goes to the resolver, which might say otherwise.
func Listen(ctx context.Context, addr string, opts Options) (*Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if !IsLoopbackHost(host) {
		return nil, fmt.Errorf("address %q is %w (use 127.0.0.1, [::1] or localhost)", addr, ErrNotLoopback)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("address %q resolved to %s, which is %w", addr, ln.Addr(), ErrNotLoopback)
	}
	return SameUser(ln, opts), nil
}

// Listener is a TCP listener whose Accept yields only connections whose
// client end belongs to a process of this process's uid (see the package
// doc). Connections are accepted from the wrapped listener by a goroutine
// of its own and checked concurrently; Accept returns them as they pass.
type Listener struct {
	inner  net.Listener
	lookup func(local, remote *net.TCPAddr) (int, error)
	uid    int
	name   string
	log    atomic.Pointer[slog.Logger]
	sem    chan struct{}
	ready  chan net.Conn
	done   chan struct{} // closed by Close
	failed chan struct{} // closed when the inner Accept fails for good
	err    error         // why, set before failed is closed
	close  sync.Once

	mu         sync.Mutex // guards the refusal log's rate limit
	lastLog    time.Time
	suppressed int

	unchecked sync.Once // logs once that this system cannot tell
	refusals  atomic.Uint64
}

// Refused is how many connections have been refused since SameUser.
func (l *Listener) Refused() uint64 { return l.refusals.Load() }

// SameUser wraps ln (a TCP listener) so that its Accept yields only
// connections made by this process's uid. On a *Listener it returns ln
// itself, taking opts.Logger as its logger if it had none.
func SameUser(ln net.Listener, opts Options) *Listener {
	if l, ok := ln.(*Listener); ok {
		if opts.Logger != nil {
			l.log.CompareAndSwap(nil, opts.Logger)
		}
		return l
	}
	n := opts.MaxChecks
	if n <= 0 {
		n = defaultMaxChecks
	}
	l := &Listener{
		inner:  ln,
		lookup: opts.lookup,
		uid:    os.Getuid(),
		name:   opts.Name,
		sem:    make(chan struct{}, n),
		ready:  make(chan net.Conn),
		done:   make(chan struct{}),
		failed: make(chan struct{}),
	}
	if l.lookup == nil {
		l.lookup = new(peerLookup).uid
	}
	if l.name == "" {
		l.name = "listener"
	}
	if opts.Logger != nil {
		l.log.Store(opts.Logger)
	}
	go l.acceptLoop()
	return l
}

// Accept waits for the next connection that passed the peer check.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.inner.Addr(), Err: net.ErrClosed}
	case <-l.failed:
		return nil, l.err
	}
}

// Close closes the wrapped listener; connections still being checked are
// closed.
func (l *Listener) Close() error {
	err := net.ErrClosed
	l.close.Do(func() {
		close(l.done)
		err = l.inner.Close()
	})
	return err
}

// Addr is the wrapped listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

func (l *Listener) acceptLoop() {
	var backoff time.Duration
	for {
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			return
		}
		c, err := l.inner.Accept()
		if err != nil {
			<-l.sem
			if !temporary(err) {
				l.err = err
				close(l.failed)
				return
			}
			// Out of file descriptors and the like: wait, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.logger().Warn(l.name+": accept failed; retrying", "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-l.done:
				return
			}
			continue
		}
		backoff = 0
		go l.check(c)
	}
}

func temporary(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EINTR)
}

// check hands c to Accept if its client end is of our uid, or resets it.
func (l *Listener) check(c net.Conn) {
	defer func() { <-l.sem }()
	if err := l.allowed(c); err != nil {
		l.refused(c, err)
		reset(c)
		return
	}
	select {
	case l.ready <- c:
	case <-l.done:
		c.Close()
	}
}

// allowed is nil when the client end of c belongs to our uid.
func (l *Listener) allowed(c net.Conn) error {
	local, lok := c.LocalAddr().(*net.TCPAddr)
	remote, rok := c.RemoteAddr().(*net.TCPAddr)
	if !lok || !rok {
		return fmt.Errorf("not a TCP connection (%T)", c.LocalAddr())
	}
	uid, err := l.lookup(local, remote)
	switch {
	case errors.Is(err, errUnsupported):
		l.unchecked.Do(func() {
			l.logger().Warn(l.name+": cannot tell which user connects on this system; any local account can reach it", "err", err)
		})
		return nil
	case err != nil:
		return err
	case uid != l.uid:
		return &otherUserError{uid: uid}
	}
	return nil
}

type otherUserError struct{ uid int }

func (e *otherUserError) Error() string { return fmt.Sprintf("made by uid %d", e.uid) }

// refused logs a refused connection, at most one line a second.
func (l *Listener) refused(c net.Conn, err error) {
	l.refusals.Add(1)
	lg := l.logger()
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.lastLog) < time.Second {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	n := l.suppressed
	l.lastLog, l.suppressed = now, 0
	l.mu.Unlock()
	args := []any{"remote", c.RemoteAddr().String(), "why", err.Error()}
	var other *otherUserError
	if errors.As(err, &other) {
		args = append(args, "uid", other.uid)
	}
	if n > 0 {
		args = append(args, "refused_before_unlogged", n)
	}
	lg.Warn(l.name+": connection refused: not made by this user", args...)
}

func (l *Listener) logger() *slog.Logger {
	if lg := l.log.Load(); lg != nil {
		return lg
	}
	return discard
}

var discard = slog.New(slog.DiscardHandler)

// reset closes c with an RST rather than a FIN: nothing was read, nothing
// is answered, and no TIME_WAIT is left on our side.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}
