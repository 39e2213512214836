package wire

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Redialer holds one client of an engine and replaces it when the
// connection ends, so an engine restart is transparent to the caller's next
// call. Safe for concurrent use.
type Redialer struct {
	socket  string
	opts    ClientOptions
	backoff []time.Duration

	mu sync.Mutex
	c  *Client
}

// dialTimeout bounds one dial attempt.
const dialTimeout = 2 * time.Second

// NewRedialer dials socket with opts whenever it has no live client. backoff
// lists the waits between attempts at call time (none: one attempt).
func NewRedialer(socket string, opts ClientOptions, backoff ...time.Duration) *Redialer {
	return &Redialer{socket: socket, opts: opts, backoff: backoff}
}

func (r *Redialer) dialOnce(ctx context.Context) (*Client, error) {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	return Dial(dctx, r.socket, r.opts)
}

// Connect makes one dial attempt and keeps the client it gets as the
// current one.
func (r *Redialer) Connect(ctx context.Context) (*Client, error) {
	c, err := r.dialOnce(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c != nil {
		r.c.Close()
	}
	r.c = c
	return c, nil
}

// Fresh dials a connection of its own with the same options, not shared
// with other calls: for a subscription, which takes the socket's reader.
// The caller closes it.
func (r *Redialer) Fresh(ctx context.Context) (*Client, error) { return r.dialOnce(ctx) }

// Socket is the socket path r dials.
func (r *Redialer) Socket() string { return r.socket }

// Options are the client options r dials with.
func (r *Redialer) Options() ClientOptions { return r.opts }

// Client returns a live client, dialing (with the backoff) when there is
// none.
func (r *Redialer) Client(ctx context.Context) (*Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c != nil {
		select {
		case <-r.c.Done():
			r.c = nil
		default:
			return r.c, nil
		}
	}
	c, err := r.dialOnce(ctx)
	for _, d := range r.backoff {
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d):
		}
		c, err = r.dialOnce(ctx)
	}
	if err != nil {
		return nil, err
	}
	r.c = c
	return c, nil
}

// Rejoin dials until an engine answers or within has passed (or ctx ends),
// for a caller that lost its engine and must know whether one came back.
func (r *Redialer) Rejoin(ctx context.Context, within time.Duration) (*Client, error) {
	deadline := time.Now().Add(within)
	delay := 50 * time.Millisecond
	for {
		c, err := r.Connect(ctx)
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

// Drop closes c and forgets it if it is still the current client.
func (r *Redialer) Drop(c *Client) {
	r.mu.Lock()
	if r.c == c {
		r.c = nil
	}
	r.mu.Unlock()
	c.Close()
}

// Close ends the current connection; the next call dials again.
func (r *Redialer) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c != nil {
		r.c.Close()
		r.c = nil
	}
}

// Call makes one call. When the connection turns out to be dead it redials
// and tries once more, provided the request cannot have reached the engine
// (ErrNotSent) or it only reads (readOnly): a write whose connection died
// mid-call may have been applied, and is not repeated.
func (r *Redialer) Call(ctx context.Context, method string, params, result any, readOnly bool) error {
	var err error
	for range 2 {
		var c *Client
		if c, err = r.Client(ctx); err != nil {
			return err
		}
		err = c.Call(ctx, method, params, result)
		if err == nil || !errors.Is(err, ErrUnreachable) {
			return err
		}
		r.Drop(c)
		if !readOnly && !errors.Is(err, ErrNotSent) {
			return err
		}
	}
	return err
}
