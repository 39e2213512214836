package mcpproxy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/agentos/agentos/engine/wire"
)

// redialDelays is the backoff between dial attempts when the engine does not
// answer at call time: about 2 s in all.
var redialDelays = []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 600 * time.Millisecond, 700 * time.Millisecond}

// conn holds the one engine client of the proxy and replaces it when the
// engine goes away (a restart is transparent to the MCP client).
type conn struct {
	home string
	mu   sync.Mutex
	c    *wire.Client
}

func (k *conn) dialOnce(ctx context.Context) (*wire.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return wire.DialHome(dctx, k.home, wire.ClientOptions{Name: "mcp"})
}

// client returns a live client, dialing with backoff when there is none.
func (k *conn) client(ctx context.Context) (*wire.Client, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.c != nil {
		select {
		case <-k.c.Done():
			k.c = nil
		default:
			return k.c, nil
		}
	}
	var err error
	for _, d := range redialDelays {
		if d > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(d):
			}
		}
		var c *wire.Client
		if c, err = k.dialOnce(ctx); err == nil {
			k.c = c
			return c, nil
		}
	}
	return nil, err
}

// rejoin dials until an engine answers or within has passed (or ctx ends),
// for a caller that lost its engine and must know whether one came back.
func (k *conn) rejoin(ctx context.Context, within time.Duration) (*wire.Client, error) {
	deadline := time.Now().Add(within)
	delay := 50 * time.Millisecond
	for {
		k.mu.Lock()
		c, err := k.dialOnce(ctx)
		if err == nil {
			k.c = c
		}
		k.mu.Unlock()
		if err == nil {
			return c, nil
		}
		if time.Now().Add(delay).After(deadline) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// drop forgets c if it is still the current client.
func (k *conn) drop(c *wire.Client) {
	k.mu.Lock()
	if k.c == c {
		k.c = nil
	}
	k.mu.Unlock()
	c.Close()
}

// close ends the current connection.
func (k *conn) close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.c != nil {
		k.c.Close()
		k.c = nil
	}
}

// call makes one engine call. When the connection turns out to be dead, it
// redials and retries once, provided the request cannot have reached the
// engine (the send itself failed) or the method only reads.
func (k *conn) call(ctx context.Context, method string, params, result any, readOnly bool) error {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var c *wire.Client
		if c, err = k.client(ctx); err != nil {
			return err
		}
		err = c.Call(ctx, method, params, result)
		if err == nil || !errors.Is(err, wire.ErrUnreachable) {
			return err
		}
		k.drop(c)
		if !readOnly && !strings.Contains(err.Error(), ": send ") {
			return err
		}
	}
	return err
}
