package jsonl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// ErrNewline is returned for a line with a newline inside: written, it would
// be two messages.
var ErrNewline = errors.New("jsonl: newline inside a line")

// scratchSize is the largest line copied to add its newline, so that it goes
// out in one write; a longer one is written with its newline as two buffers.
const scratchSize = 64 << 10

// Writer writes whole lines from any number of goroutines: each WriteLine
// goes out entire before the next begins.
//
// A write that fails may have sent part of a line, so the stream is then
// corrupt: every later WriteLine returns the same error, and the caller
// should close the stream (its reader learns of it that way).
type Writer struct {
	mu          sync.Mutex
	w           io.Writer
	timeout     time.Duration
	setDeadline func(time.Time) error
	scratch     []byte
	err         error
}

// NewWriter returns a Writer of lines to w. When timeout > 0 and w has a
// write deadline (a net.Conn, a pipe's *os.File), each line must be written
// within timeout, so a peer that stops reading cannot hold the writer (and
// every goroutine waiting to write) forever.
func NewWriter(w io.Writer, timeout time.Duration) *Writer {
	lw := &Writer{w: w}
	if d, ok := w.(interface{ SetWriteDeadline(time.Time) error }); ok && timeout > 0 {
		lw.timeout, lw.setDeadline = timeout, d.SetWriteDeadline
	}
	return lw
}

// WriteLine writes line and a newline. line may already end with its
// newline; any other newline in it is refused with ErrNewline, before
// anything is written.
func (w *Writer) WriteLine(line []byte) error {
	body, hasNL := bytes.CutSuffix(line, []byte{'\n'})
	if bytes.IndexByte(body, '\n') >= 0 {
		return ErrNewline
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.setDeadline != nil {
		if err := w.setDeadline(time.Now().Add(w.timeout)); err != nil && !errors.Is(err, os.ErrNoDeadline) {
			w.err = fmt.Errorf("jsonl: set write deadline: %w", err)
			return w.err
		}
	}
	var err error
	switch {
	case hasNL:
		_, err = w.w.Write(line)
	case len(line) < scratchSize:
		w.scratch = append(append(w.scratch[:0], line...), '\n')
		_, err = w.w.Write(w.scratch)
	default:
		bufs := net.Buffers{line, []byte{'\n'}} // one writev on a net.Conn
		_, err = bufs.WriteTo(w.w)
	}
	if err != nil {
		w.err = fmt.Errorf("jsonl: write line: %w", err)
	}
	return w.err
}
