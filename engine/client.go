package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/sourcegraph/jsonrpc2"
)

// ErrUnreachable means no engine answers on the socket.
var ErrUnreachable = errors.New("engine unreachable")

// Client is the Go client of the engine socket: the one used by the CLI, the
// MCP proxy and the bridge. Safe for concurrent use; calls are multiplexed
// over one connection.
//
// It speaks the wire format itself rather than through jsonrpc2.Conn, whose
// message types decode every response three times before the caller decodes
// it once more: on a point read that was most of the client's cost.
type Client struct {
	nc      net.Conn
	wmu     sync.Mutex
	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan response
	events  func(Event)
	err     error // why the connection ended, once it has
	done    chan struct{}
}

type response struct {
	result json.RawMessage
	err    *jsonrpc2.Error
}

// ClientOptions configure Dial.
type ClientOptions struct {
	Name    string // sent with system.hello so events and history name the caller
	Session string
	MaxLine int
}

// Dial connects to the engine at socketPath. A missing or dead socket gives
// an error wrapping ErrUnreachable.
func Dial(ctx context.Context, socketPath string, opts ClientOptions) (*Client, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", socketPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, socketPath, err)
	}
	if opts.MaxLine <= 0 {
		opts.MaxLine = DefaultMaxLine
	}
	c := &Client{nc: nc, pending: map[uint64]chan response{}, done: make(chan struct{})}
	go c.readLoop(opts.MaxLine)
	if opts.Name != "" {
		if err := c.Call(ctx, "system.hello", map[string]string{"client": opts.Name, "session": opts.Session}, nil); err != nil {
			c.Close()
			return nil, fmt.Errorf("%w: hello: %v", ErrUnreachable, err)
		}
	}
	return c, nil
}

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

func (c *Client) readLoop(maxLine int) {
	r := bufio.NewReaderSize(c.nc, 64<<10)
	var err error
	for {
		var line []byte
		line, err = readBoundedLine(r, maxLine)
		if err != nil {
			break
		}
		var env envelope
		if json.Unmarshal(line, &env) != nil {
			continue // the engine never sends this; skip rather than die
		}
		if env.Method != "" {
			c.notify(env)
			continue
		}
		if env.ID == nil {
			continue // an error about a line we never sent as a call
		}
		c.mu.Lock()
		ch := c.pending[*env.ID]
		delete(c.pending, *env.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- response{result: env.Result, err: env.Error}
		}
	}
	c.mu.Lock()
	c.err = fmt.Errorf("%w: connection closed: %v", ErrUnreachable, err)
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	c.mu.Unlock()
	close(c.done)
}

func readBoundedLine(r *bufio.Reader, maxLine int) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) > maxLine+1 {
			return nil, fmt.Errorf("reply larger than %d bytes", maxLine)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			buf = append(buf, chunk...)
			continue
		}
		if err != nil {
			return nil, err
		}
		if buf == nil {
			return chunk, nil // valid until the next read, which waits for us
		}
		return append(buf, chunk...), nil
	}
}

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
	ch := make(chan response, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()

	if err := c.send(id, method, params); err != nil {
		c.forget(id)
		return err
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.err
		}
		if resp.err != nil {
			return fromRPCError(resp.err)
		}
		if result == nil {
			return nil
		}
		if err := json.Unmarshal(resp.result, result); err != nil {
			return fmt.Errorf("decode %s result: %w", method, err)
		}
		return nil
	case <-ctx.Done():
		c.forget(id)
		return ctx.Err()
	}
}

func (c *Client) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
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
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.nc.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("%w: send %s: %v", ErrUnreachable, method, err)
	}
	return nil
}

// Subscribe asks for observer events after since (negative: only new ones)
// and calls fn for each, in order, on the connection's read goroutine: fn
// must not block for long.
func (c *Client) Subscribe(ctx context.Context, since int64, fn func(Event)) (lastID int64, err error) {
	c.mu.Lock()
	c.events = fn
	c.mu.Unlock()
	params := map[string]any{}
	if since >= 0 {
		params["since"] = since
	}
	var res struct {
		LastID int64 `json:"last_id"`
	}
	if err := c.Call(ctx, "observer.subscribe", params, &res); err != nil {
		return 0, err
	}
	return res.LastID, nil
}

// Done is closed when the connection is gone.
func (c *Client) Done() <-chan struct{} { return c.done }

// Close closes the connection.
func (c *Client) Close() error { return c.nc.Close() }

// WaitReady dials until the engine answers system.ping or ctx ends.
func WaitReady(ctx context.Context, socketPath string) error {
	for {
		c, err := Dial(ctx, socketPath, ClientOptions{})
		if err == nil {
			perr := c.Call(ctx, "system.ping", nil, nil)
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
