package broker

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

// memoryWorker is a worker that writes what a memory attack writes: an endless
// line, or a result of many MiB, straight to the protocol pipe.
const memoryWorker = `
import json, os, sys

call = json.loads(sys.stdin.readline())
fn, p, cid = call["function"], call["params"], call["id"]

def write_all(b):
    v = memoryview(b)
    while v:
        v = v[os.write(1, v):]

chunk = (p.get("fill", "x") * (1 << 20)).encode()
if fn == "long_line":
    # p["mib"] MiB with no newline, after an optional opening.
    write_all(p.get("start", "").encode())
    for _ in range(p["mib"]):
        write_all(chunk)
elif fn == "big_result":
    write_all(('{"type":"result","id":%s,"result":"' % json.dumps(cid)).encode())
    for _ in range(p["mib"]):
        write_all(chunk)
    write_all(b'"}\n')
`

func newMemoryRunner(t *testing.T, maxOutput int64) *Runner {
	t.Helper()
	requirePython(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, workerScript), []byte(memoryWorker), 0o644); err != nil {
		t.Fatal(err)
	}
	return NewRunner(RunnerOptions{Python: systemPython, SDKDir: dir, MaxConcurrent: 8,
		Limits: Limits{CPUSeconds: 60, MemoryBytes: 1 << 30, MaxOutput: maxOutput, Grace: 300 * time.Millisecond}})
}

// heapPeak samples the Go heap in use until stop is called, and returns how far
// it rose above where it was at the start (after a GC). GC runs at 10 % growth
// meanwhile, so the figure follows live memory rather than garbage.
func heapPeak(t *testing.T) (stop func() uint64) {
	t.Helper()
	old := debug.SetGCPercent(10)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	done := make(chan struct{})
	peak := make(chan uint64, 1)
	go func() {
		var top uint64
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			top = max(top, ms.HeapInuse)
			select {
			case <-done:
				peak <- top
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		top := <-peak
		debug.SetGCPercent(old)
		if top < base {
			return 0
		}
		return top - base
	}
}

// Eight workers each writing a 64 MiB line with no newline: the engine reads
// each line's first byte, refuses it, and never buffers the rest. (With jsonl
// alone, one such worker took the engine from 19 to 212 MB of RSS, and eight to
// 1.1 GB; with the guard both stay at 20 MB.)
func TestEndlessNonProtocolLinesAreCutOffAsTheyAreRead(t *testing.T) {
	r := newMemoryRunner(t, 0) // the default MaxOutput, 64 MiB: the line is within it
	const workers = 8
	stop := heapPeak(t)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			params := map[string]any{"mib": 64}
			if i%2 == 1 {
				params["start"] = "   \t" // blanks first: still not an object
			}
			_, errs[i] = r.Run(context.Background(), fixtureCall(t, "long_line", params), nil)
		}()
	}
	wg.Wait()
	grew := stop()
	t.Logf("heap grew %.1f MiB while %d workers wrote 64 MiB lines", float64(grew)/(1<<20), workers)
	for _, err := range errs {
		re := runError(t, err, KindSkillFailed)
		if !strings.Contains(re.Message, "non-protocol line") || !strings.Contains(re.Message, `"xxxx`) {
			t.Errorf("error %q does not name the non-protocol line and quote its start", re.Message)
		}
	}
	if grew > 32<<20 {
		t.Errorf("the heap grew %d MiB: the lines were buffered", grew>>20)
	}
}

// Eight 7 MiB results at once with a pool of two 8 MiB lines: every call gets its
// whole result, and no more than two lines are ever held at once.
func TestConcurrentLargeResultsWaitForTheLinePool(t *testing.T) {
	const maxOutput, mib, calls = 8 << 20, 7, 8
	saved := largeLines
	largeLines = newBytePool(2 * maxOutput)
	t.Cleanup(func() { largeLines = saved })
	r := newMemoryRunner(t, maxOutput)

	stop := heapPeak(t)
	var wg sync.WaitGroup
	lens := make([]int, calls)
	errs := make([]error, calls)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.Run(context.Background(), fixtureCall(t, "big_result", map[string]any{"mib": mib, "fill": "y"}), nil)
			errs[i] = err
			if len(res) == mib<<20+2 && res[0] == '"' && res[len(res)-1] == '"' {
				lens[i] = len(res) - 2
			}
			// The result itself is let go here.
		}()
	}
	wg.Wait()
	grew := stop()
	size, used, peak := largeLines.stats()
	t.Logf("heap grew %.1f MiB for %d results of %d MiB; pool peak %d of %d MiB", float64(grew)/(1<<20), calls, mib, peak>>20, size>>20)
	for i := range calls {
		if errs[i] != nil || lens[i] != mib<<20 {
			t.Fatalf("call %d: %d bytes, %v; want its %d MiB result", i, lens[i], errs[i], mib)
		}
	}
	if used != 0 || peak != size {
		t.Errorf("pool used %d after the calls, peak %d of %d: want 0, and the pool full at some point", used, peak, size)
	}
	// The pool's peak above is what shows the bound (unbounded, all eight lines
	// are read at once: peak 64 MiB). The heap's rise is a generous check that
	// nothing else holds the lines: two 8 MiB buffers and their 7 MiB copies, plus
	// results on their way to the callers, measured about 35-50 MiB here against
	// 76 MiB unbounded.
	if grew > 100<<20 {
		t.Errorf("the heap grew %d MiB: more than the pool's lines were held", grew>>20)
	}
}

// A line over MaxOutput fails the call with an error naming the cap; a waiting
// line gives up its place when its call ends.
func TestAResultOverTheCapFailsNamingIt(t *testing.T) {
	r := newMemoryRunner(t, 2<<20)
	_, err := r.Run(context.Background(), fixtureCall(t, "big_result", map[string]any{"mib": 3}), nil)
	re := runError(t, err, KindSkillFailed)
	if !strings.Contains(re.Message, "more than 2097152 bytes") {
		t.Errorf("error %q does not name the cap", re.Message)
	}
	if _, used, _ := largeLines.stats(); used != 0 {
		t.Errorf("the pool still holds %d bytes after the call", used)
	}
}

// A call whose result waits for a pool that stays spent ends at its deadline,
// as any call does, and gives up its place in the queue.
func TestALineWaitingForThePoolEndsWithItsCall(t *testing.T) {
	const maxOutput = 4 << 20
	saved := largeLines
	largeLines = newBytePool(maxOutput)
	t.Cleanup(func() { largeLines = saved })
	r := newMemoryRunner(t, maxOutput)
	held := largeLines.acquire(maxOutput, nil) // another call's large line
	c := fixtureCall(t, "big_result", map[string]any{"mib": 2})
	c.Timeout = time.Second
	_, err := r.Run(context.Background(), c, nil)
	runError(t, err, KindTimeout)
	largeLines.mu.Lock()
	waiting := len(largeLines.waiting)
	largeLines.mu.Unlock()
	if _, used, _ := largeLines.stats(); waiting != 0 || used != held {
		t.Fatalf("after the call: %d waiting, %d bytes used; want none waiting and only the %d held", waiting, used, held)
	}
	largeLines.release(held)
	// With the pool free again the same result comes through.
	res, err := r.Run(context.Background(), fixtureCall(t, "big_result", map[string]any{"mib": 2}), nil)
	if err != nil || len(res) != 2<<20+2 {
		t.Fatalf("with the pool free: %d bytes, %v", len(res), err)
	}
}

func TestBytePoolServesInOrderAndStopsWaiting(t *testing.T) {
	p := newBytePool(10)
	if n := p.acquire(8, nil); n != 8 {
		t.Fatalf("acquire(8) = %d", n)
	}
	queued := func(n int) bool {
		return eventually(5*time.Second, func() bool { p.mu.Lock(); defer p.mu.Unlock(); return len(p.waiting) == n })
	}
	stop := make(chan struct{})
	big, small := make(chan int64), make(chan int64)
	go func() { big <- p.acquire(5, stop) }()
	if !queued(1) {
		t.Fatal("a request that does not fit did not wait")
	}
	// 1 byte would fit, but the request before it comes first.
	go func() { small <- p.acquire(1, nil) }()
	if !queued(2) {
		t.Fatal("a small request overtook the one waiting before it")
	}
	close(stop)
	if n := <-big; n != 0 {
		t.Fatalf("a stopped acquire returned %d", n)
	}
	if n := <-small; n != 1 {
		t.Fatalf("the request behind a stopped one got %d", n)
	}
	p.release(8)
	p.release(1)
	if n := p.acquire(100, nil); n != 10 {
		t.Fatalf("a request over the pool's size got %d, want all 10 bytes", n)
	}
	p.release(10)
	if _, used, peak := p.stats(); used != 0 || peak != 10 {
		t.Fatalf("used %d, peak %d after everything was released", used, peak)
	}
}
