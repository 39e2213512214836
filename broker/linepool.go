package broker

import (
	"context"
	"sync"
)

// Memory a worker's stdout may make the engine spend (docs/worker-protocol.md,
// "Caps"). A line up to SmallLine bytes is read freely. A longer one (a large
// result, large op params) first reserves a share of the engine-wide large-line
// pool: Limits.MaxOutput bytes, the most the line may grow to, taken at once so
// that calls holding half a reservation each cannot wait on one another forever.
// The call keeps its share until it ends, and a call that ends with a result
// hands the share to whoever passes the result on (WithLineShareKeeper), so the
// bound holds until the result is written out. While the pool is spent, a call's
// stdout is simply not read: its worker blocks writing, and the call's deadline
// runs as always.
//
// A nested call (Call.Nested) takes its share without waiting, even past the
// pool's size: its caller may hold a share while it waits for it, and taking
// from the same pool could deadlock them (the rule of the process slots).
// Nesting depth bounds how many such shares there are.
const (
	SmallLine       = 1 << 20   // bytes of one stdout line read without a reservation
	DefaultLinePool = 128 << 20 // bytes of the large-line pool (2 lines of the default MaxOutput)
)

type shareKeeperKey struct{}

// WithLineShareKeeper returns ctx carrying keep. A call run with it (not a nested
// one) that ends with a result read with a share of the large-line pool gives keep
// the share's release instead of releasing it: the caller keeps the share while
// the result travels on (the engine: until its reply is written). keep must see to
// it that release is called; release may be called more than once.
func WithLineShareKeeper(ctx context.Context, keep func(release func())) context.Context {
	return context.WithValue(ctx, shareKeeperKey{}, keep)
}

func shareKeeperFrom(ctx context.Context) func(release func()) {
	keep, _ := ctx.Value(shareKeeperKey{}).(func(release func()))
	return keep
}

// largeLines is the pool of the engine process: memory is the process's, so the
// pool is shared by every Runner in it.
var largeLines = newBytePool(DefaultLinePool)

// bytePool is a weighted semaphore of bytes, first come first served: a large
// request at the head is not overtaken by small ones behind it.
type bytePool struct {
	mu      sync.Mutex
	size    int64
	used    int64
	peak    int64 // the most ever used at once (tests, status)
	waiting []*poolWaiter
}

type poolWaiter struct {
	n     int64
	ready chan struct{} // closed once n is granted
}

func newBytePool(size int64) *bytePool { return &bytePool{size: max(size, 1)} }

// clamp is n as a request: no request may exceed the pool.
func (p *bytePool) clamp(n int64) int64 { return min(max(n, 1), p.size) }

// acquire reserves n bytes (clamped to the pool's size) and returns how many it
// reserved, or 0 if stop was closed first.
func (p *bytePool) acquire(n int64, stop <-chan struct{}) int64 {
	n = p.clamp(n)
	p.mu.Lock()
	if len(p.waiting) == 0 && p.used+n <= p.size {
		p.take(n)
		p.mu.Unlock()
		return n
	}
	w := &poolWaiter{n: n, ready: make(chan struct{})}
	p.waiting = append(p.waiting, w)
	p.mu.Unlock()
	select {
	case <-w.ready:
		return n
	case <-stop:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-w.ready: // granted meanwhile: give it back
		p.used -= n
	default:
		for i, o := range p.waiting {
			if o == w {
				p.waiting = append(p.waiting[:i], p.waiting[i+1:]...)
				break
			}
		}
	}
	p.grant() // the head may have changed, or bytes came back
	return 0
}

// force takes n bytes without waiting, past the pool's size if need be (a nested
// call's share); release gives them back as any.
func (p *bytePool) force(n int64) int64 {
	n = p.clamp(n)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.take(n)
	return n
}

// release returns n bytes acquire or force reserved.
func (p *bytePool) release(n int64) {
	if n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.used -= n
	p.grant()
}

func (p *bytePool) take(n int64) {
	p.used += n
	p.peak = max(p.peak, p.used)
}

// grant serves waiters in order while the head fits; the caller holds mu.
func (p *bytePool) grant() {
	for len(p.waiting) > 0 && p.used+p.waiting[0].n <= p.size {
		w := p.waiting[0]
		p.waiting = p.waiting[1:]
		p.take(w.n)
		close(w.ready)
	}
}

// stats are the pool's size, its bytes in use and its high-water mark.
func (p *bytePool) stats() (size, used, peak int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.size, p.used, p.peak
}

// LinePoolInUse is how many bytes of the engine's large-line pool are reserved
// now, by calls reading a large line and by results not yet written out.
func LinePoolInUse() int64 {
	_, used, _ := largeLines.stats()
	return used
}
