package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/sourcegraph/jsonrpc2"
)

// ErrUnreachable means no engine answers on the socket.
var ErrUnreachable = errors.New("engine unreachable")

// Client is the Go client of the engine socket: the one used by the CLI, the
// MCP proxy and the bridge. Safe for concurrent use; calls are multiplexed
// over one connection.
type Client struct {
	conn *jsonrpc2.Conn

	mu     sync.Mutex
	events func(Event)
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
	c := &Client{}
	c.conn = jsonrpc2.NewConn(context.Background(), newLineStream(nc, opts.MaxLine), handlerFunc(c.handle))
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

func (c *Client) handle(_ context.Context, _ *jsonrpc2.Conn, req *jsonrpc2.Request) {
	if req.Method != "observer.event" || req.Params == nil {
		return
	}
	var ev Event
	if json.Unmarshal(*req.Params, &ev) != nil {
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
	err := c.conn.Call(ctx, method, params, result)
	if err == nil {
		return nil
	}
	var rerr *jsonrpc2.Error
	if errors.As(err, &rerr) {
		return fromRPCError(rerr)
	}
	if errors.Is(err, jsonrpc2.ErrClosed) {
		return fmt.Errorf("%w: connection closed", ErrUnreachable)
	}
	return err
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
func (c *Client) Done() <-chan struct{} { return c.conn.DisconnectNotify() }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

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
