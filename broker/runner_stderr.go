package broker

import (
	"strings"
	"sync"
)

// stderrTail keeps the last size bytes written to it. It never blocks and never
// fails, so draining a worker that floods stderr costs CPU, not memory.
type stderrTail struct {
	mu    sync.Mutex
	buf   []byte // ring of len size once full
	start int    // index of the oldest byte when full
	full  bool
	size  int
}

func newStderrTail(size int) *stderrTail {
	return &stderrTail{buf: make([]byte, 0, size), size: size}
}

func (t *stderrTail) Write(p []byte) (int, error) {
	n := len(p)
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(p) >= t.size {
		// Only the end of p survives; it replaces everything.
		t.buf = append(t.buf[:0], p[len(p)-t.size:]...)
		t.start, t.full = 0, true
		return n, nil
	}
	if !t.full {
		room := t.size - len(t.buf)
		if len(p) <= room {
			t.buf = append(t.buf, p...)
			t.full = len(t.buf) == t.size
			return n, nil
		}
		t.buf = append(t.buf, p[:room]...)
		p = p[room:]
		t.full = true
	}
	for len(p) > 0 {
		c := copy(t.buf[t.start:], p)
		p = p[c:]
		t.start = (t.start + c) % t.size
	}
	return n, nil
}

// String returns the kept bytes in order, starting at a line when a cut left a
// partial one and with invalid UTF-8 replaced, ready for an error message.
func (t *stderrTail) String() string {
	t.mu.Lock()
	var s string
	if t.full {
		s = string(t.buf[t.start:]) + string(t.buf[:t.start])
	} else {
		s = string(t.buf)
	}
	cut := t.full
	t.mu.Unlock()
	if cut {
		if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
			s = s[i+1:]
		}
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
