package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/agentos/agentos/internal/jsonl"
	"github.com/sourcegraph/jsonrpc2"
)

// Client is the Go client of the engine socket: the one used by the CLI, the
// MCP proxy and the bridge. Safe for concurrent use; calls are multiplexed
// over one connection.
//
// It speaks the wire format itself rather than through jsonrpc2.Conn, whose
// message types decode every response three times before the caller decodes
// it once more. And it has no reader goroutine of its own until something
// subscribes: a waiting caller reads the socket itself (handing the role to
// another waiter when its own reply arrives), because waking a caller from a
// separate reader goroutine cost as much as the engine's whole answer to a ping.
type Client struct {
	nc  net.Conn
	r   *jsonl.Reader // keeps a line cut off when a reader gave up the role
	wmu sync.Mutex

	// token is the reader role: whoever takes it from the channel reads the
	// socket until its own reply arrives, then puts it back.
	token chan struct{}

	// Engine is what system.hello answered (zero without ClientOptions.Name).
	Engine Hello

	mu        sync.Mutex
	nextID    uint64
	pending   map[uint64]*pendingCall
	events    func(Event)
	dedicated bool  // a reader goroutine owns the socket (after Subscribe)
	err       error // why the connection ended, once it has
	done      chan struct{}
	closeOnce sync.Once
}

type pendingCall struct {
	resp chan response // the reply, or closed when the connection died
}

type response struct {
	result json.RawMessage
	err    *jsonrpc2.Error
}

// ClientOptions configure Dial.
type ClientOptions struct {
	Name    string // sent with system.hello so events and history name the caller
	Session string
	Quiet   bool // housekeeping: calls on this connection are not observer events
	MaxLine int  // largest reply accepted (default DefaultMaxReply)
}

// DefaultMaxReply caps one reply line on the client. Replies are not bounded
// by the request cap: a page of 1000 large nodes can exceed 16 MiB.
const DefaultMaxReply = 256 << 20

// Dial connects to the engine at socketPath. A missing or dead socket gives
// an error wrapping ErrUnreachable.
func Dial(ctx context.Context, socketPath string, opts ClientOptions) (*Client, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", socketPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, socketPath, err)
	}
	if opts.MaxLine <= 0 {
		opts.MaxLine = DefaultMaxReply
	}
	c := &Client{
		nc: nc, r: jsonl.NewReader(nc, opts.MaxLine),
		token: make(chan struct{}, 1), pending: map[uint64]*pendingCall{}, done: make(chan struct{}),
	}
	c.token <- struct{}{}
	if opts.Name != "" {
		if err := c.Call(ctx, MethodHello, HelloParams{Client: opts.Name, Session: opts.Session, Quiet: opts.Quiet}, &c.Engine); err != nil {
			c.Close()
			return nil, fmt.Errorf("%w: hello: %v", ErrUnreachable, err)
		}
	}
	return c, nil
}

// sendError is a request whose line could not be written: the engine never
// saw it, so it is ErrNotSent as well as ErrUnreachable.
type sendError struct {
	method string
	err    error
}

func (e *sendError) Error() string {
	return fmt.Sprintf("%v: send %s: %v", ErrUnreachable, e.method, e.err)
}

func (e *sendError) Unwrap() []error { return []error{ErrUnreachable, ErrNotSent, e.err} }

// writeTimeout bounds one write: an engine that stops reading altogether is
// dropped rather than left to hold the connection's writer.
const writeTimeout = 30 * time.Second

// MaxRequestLine caps one request line (DESIGN §4); the engine refuses
// longer ones, so the client does not send them.
const MaxRequestLine = 16 << 20

// DialHome connects to the engine of an AGENTOS_HOME.
func DialHome(ctx context.Context, home string, opts ClientOptions) (*Client, error) {
	return Dial(ctx, PathsFor(home).Socket, opts)
}

// envelope is every message the engine sends: a response or a notification.
type envelope struct {
	ID     *uint64         `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *jsonrpc2.Error `json:"error"`
}

// replyID reads the id of a reply the way the engine writes it
// (`{"jsonrpc":"2.0","id":N,...`), and what follows it.
func replyID(line []byte) (id uint64, rest []byte, ok bool) {
	rest, found := bytes.CutPrefix(line, []byte(`{"jsonrpc":"2.0","id":`))
	if !found {
		return 0, nil, false
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		if i == 19 { // more digits than a uint64 id we sent can have
			return 0, nil, false
		}
		id = id*10 + uint64(rest[i]-'0')
		i++
	}
	return id, rest[i:], i > 0
}

// leadingID is the id of a reply from its first bytes.
func leadingID(head []byte) (uint64, bool) {
	id, _, ok := replyID(head)
	return id, ok
}

// readOne reads and dispatches one message. It returns the id it answered
// (0 for notifications and strays). Only the holder of the token calls it.
func (c *Client) readOne() (uint64, error) {
	line, err := c.r.ReadLine()
	var tooLong *jsonl.TooLongError
	if errors.As(err, &tooLong) {
		// The reply was read to its end and dropped: its caller gets an
		// error and the connection goes on.
		id, ok := leadingID(tooLong.Head)
		if ok {
			c.deliver(id, response{err: Errorf(KindUnavailable, "the reply is %d MiB, larger than the %d MiB this client accepts; ask for less (a smaller limit)",
				tooLong.Len>>20, tooLong.Max>>20).RPCError()})
		}
		return id, nil
	}
	if err != nil {
		return 0, err
	}
	if id, result, ok := successReply(line); ok {
		c.deliver(id, response{result: bytes.Clone(result)})
		return id, nil
	}
	var env envelope
	if json.Unmarshal(line, &env) != nil {
		return 0, nil // the engine never sends this; skip rather than die
	}
	if env.Method != "" {
		c.notify(env)
		return 0, nil
	}
	if env.ID == nil {
		return 0, nil // an error about a line we never sent as a call
	}
	c.deliver(*env.ID, response{result: env.Result, err: env.Error})
	return *env.ID, nil
}

// deliver hands a reply to the call waiting for it, if any still is.
func (c *Client) deliver(id uint64, resp response) {
	c.mu.Lock()
	pc := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if pc != nil {
		pc.resp <- resp
	}
}

// successReply reads a success reply the way the engine writes it
// (encodeResponse: `{"jsonrpc":"2.0","id":N,"result":...}`) without
// scanning the result: a full decode of the envelope would walk every byte
// of a large page only to find its id. Anything else is left to the full
// decode.
func successReply(line []byte) (id uint64, result []byte, ok bool) {
	const mid = `,"result":`
	line = bytes.TrimRight(line, "\r\n")
	id, rest, ok := replyID(line)
	if !ok || !bytes.HasPrefix(rest, []byte(mid)) || rest[len(rest)-1] != '}' {
		return 0, nil, false
	}
	result = rest[len(mid) : len(rest)-1]
	if len(result) == 0 {
		return 0, nil, false
	}
	return id, result, true
}

// fail ends the connection: every waiting call gets the error.
func (c *Client) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = fmt.Errorf("%w: connection closed: %v", ErrUnreachable, err)
	}
	for id, pc := range c.pending {
		close(pc.resp)
		delete(c.pending, id)
	}
	c.mu.Unlock()
	c.closeOnce.Do(func() { close(c.done); c.nc.Close() })
}

// releaseToken gives the reader role back. A caller blocked in await
// receives it straight from the channel and reads on.
func (c *Client) releaseToken() { c.token <- struct{}{} }

func (c *Client) notify(env envelope) {
	if env.Method != "observer.event" {
		return
	}
	var ev Event
	if json.Unmarshal(env.Params, &ev) != nil {
		return
	}
	c.mu.Lock()
	fn := c.events
	c.mu.Unlock()
	if fn != nil {
		fn(ev)
	}
}

// Call invokes method with params and decodes the result into result (which
// may be nil, or a *json.RawMessage to keep it raw). An error response comes
// back as *Error; a dead connection as ErrUnreachable.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	pc := &pendingCall{resp: make(chan response, 1)}
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = pc
	c.mu.Unlock()

	if err := c.send(id, method, params); err != nil {
		c.forget(id)
		return err
	}
	resp, err := c.await(ctx, id, pc)
	if err != nil {
		return err
	}
	if resp.err != nil {
		return FromRPCError(resp.err)
	}
	if result == nil {
		return nil
	}
	if raw, ok := result.(*json.RawMessage); ok && resp.result != nil {
		*raw = resp.result // the reply's own copy, valid JSON from the engine
		return nil
	}
	if err := json.Unmarshal(resp.result, result); err != nil {
		return fmt.Errorf("decode %s result: %w", method, err)
	}
	return nil
}

// await waits for the reply to id, reading the socket itself whenever the
// reader role is free.
func (c *Client) await(ctx context.Context, id uint64, pc *pendingCall) (response, error) {
	select {
	case resp, ok := <-pc.resp:
		return c.delivered(resp, ok)
	case <-c.token:
		defer c.releaseToken()
		// The previous reader may have delivered our reply just before
		// handing over.
		select {
		case resp, ok := <-pc.resp:
			return c.delivered(resp, ok)
		default:
		}
		resp, ok, err := c.readUntil(ctx, id, pc)
		if err != nil {
			return response{}, err
		}
		return c.delivered(resp, ok)
	case <-ctx.Done():
		c.forget(id)
		return response{}, ctx.Err()
	}
}

// readUntil reads messages until the reply to id arrives. A cancelled ctx
// interrupts the read through a deadline; the partial line is kept for the
// next reader.
func (c *Client) readUntil(ctx context.Context, id uint64, pc *pendingCall) (response, bool, error) {
	defer interruptOnCancel(ctx, c.nc.SetReadDeadline)()
	for {
		got, err := c.readOne()
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded) {
				c.forget(id)
				return response{}, false, ctx.Err()
			}
			c.fail(err)
			resp, ok := <-pc.resp
			return resp, ok, nil
		}
		if got == id {
			resp, ok := <-pc.resp
			return resp, ok, nil
		}
	}
}

func (c *Client) delivered(resp response, ok bool) (response, error) {
	if !ok {
		c.mu.Lock()
		defer c.mu.Unlock()
		return response{}, c.err
	}
	return resp, nil
}

func (c *Client) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// interruptOnCancel makes a blocking read on the connection return when ctx
// ends, by moving its deadline into the past. The returned func undoes that
// for the next reader.
func interruptOnCancel(ctx context.Context, setDeadline func(time.Time) error) func() {
	if ctx.Done() == nil {
		return func() {}
	}
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		setDeadline(time.Unix(1, 0))
		close(interrupted)
	})
	return func() {
		if !stop() {
			<-interrupted
			setDeadline(time.Time{})
		}
	}
}

func (c *Client) send(id uint64, method string, params any) error {
	var buf bytes.Buffer
	buf.WriteString(`{"jsonrpc":"2.0","id":`)
	buf.WriteString(strconv.FormatUint(id, 10))
	buf.WriteString(`,"method":`)
	m, _ := json.Marshal(method)
	buf.Write(m)
	if params != nil {
		p, err := json.Marshal(params)
		if err != nil {
			return fmt.Errorf("encode %s params: %w", method, err)
		}
		if !bytes.Equal(p, []byte("null")) {
			buf.WriteString(`,"params":`)
			buf.Write(p)
		}
	}
	buf.WriteString("}\n")
	if buf.Len() > MaxRequestLine+1 {
		return Errorf(KindInvalid, "%s: the request is %d MiB, over the engine's %d MiB limit per request; split it (e.g. several data.write calls)",
			method, buf.Len()>>20, MaxRequestLine>>20)
	}
	// A send is not cut short by ctx: half a line would corrupt the stream
	// for every call sharing it. An engine that stops reading altogether
	// is given writeTimeout, then the connection is dropped.
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := c.nc.Write(buf.Bytes()); err != nil {
		c.fail(err)
		return &sendError{method: method, err: err}
	}
	return nil
}

// Subscribe asks for observer events after since (negative: only new ones)
// and calls fn for each, in order, on the connection's read goroutine: fn
// must not block for long.
func (c *Client) Subscribe(ctx context.Context, since int64, fn func(Event)) (lastID int64, err error) {
	return c.SubscribeTypes(ctx, since, nil, fn)
}

// SubscribeTypes is Subscribe for the events of the given types only (all
// when types is empty), plus lagged events. A subscriber that wants a few
// types should say so: the engine then never sends it the started and
// completed events of every call.
//
// An engine from before observer.subscribe took types (still running after
// an upgrade) is asked for every event instead, and the client drops the
// others itself, so fn sees the same events either way.
func (c *Client) SubscribeTypes(ctx context.Context, since int64, types []string, fn func(Event)) (lastID int64, err error) {
	if len(types) > 0 {
		want := make(map[string]bool, len(types)+1)
		for _, t := range types {
			want[t] = true
		}
		want[EventLagged] = true
		all := fn
		fn = func(ev Event) {
			if want[ev.Type] {
				all(ev)
			}
		}
	}
	c.mu.Lock()
	c.events = fn
	startReader := !c.dedicated
	c.dedicated = true
	c.mu.Unlock()
	if startReader {
		// Notifications arrive with no call waiting: from now on one
		// goroutine owns the socket and callers only wait.
		go func() {
			<-c.token
			for {
				if _, err := c.readOne(); err != nil {
					c.fail(err)
					return
				}
			}
		}()
	}
	params := map[string]any{}
	if since >= 0 {
		params["since"] = since
	}
	if len(types) > 0 {
		params["types"] = types
	}
	var res struct {
		LastID int64 `json:"last_id"`
	}
	err = c.Call(ctx, MethodSubscribe, params, &res)
	if err != nil && len(types) > 0 && IsKind(err, KindInvalid) {
		// since is as old as the method; types is the only param an
		// older engine can refuse.
		delete(params, "types")
		err = c.Call(ctx, MethodSubscribe, params, &res)
	}
	if err != nil {
		return 0, err
	}
	return res.LastID, nil
}

// Done is closed when the connection is gone.
func (c *Client) Done() <-chan struct{} { return c.done }

// Close closes the connection; calls still waiting get ErrUnreachable.
func (c *Client) Close() error {
	c.fail(errors.New("closed by the client"))
	return nil
}

// WaitReady dials until the engine answers system.ping or ctx ends.
func WaitReady(ctx context.Context, socketPath string) error {
	for {
		c, err := Dial(ctx, socketPath, ClientOptions{})
		if err == nil {
			perr := c.Call(ctx, MethodPing, nil, nil)
			c.Close()
			if perr == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", ErrUnreachable, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
