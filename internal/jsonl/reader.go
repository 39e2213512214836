package jsonl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// ErrTooLong matches (errors.Is) every *TooLongError.
var ErrTooLong = errors.New("line too long")

// ErrLineTimeout means a line had started but its newline did not arrive
// within the Reader's line timeout. The peer holds a partial line the
// reader must buffer: drop the connection.
var ErrLineTimeout = errors.New("line not completed in time")

// HeadSize is how many of a too-long line's first bytes TooLongError keeps:
// enough to find a request id that comes first.
const HeadSize = 4096

// TooLongError reports a line over the Reader's limit. The line has been
// read to its end and dropped, so the next ReadLine returns the line after
// it: the stream stays usable.
type TooLongError struct {
	Max  int    // the limit
	Len  int    // the line's length, without its terminator
	Head []byte // the line's first bytes (at most HeadSize), a copy
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("line of %d bytes is over the %d-byte limit", e.Len, e.Max)
}

// Is makes errors.Is(err, ErrTooLong) true.
func (e *TooLongError) Is(target error) bool { return target == ErrTooLong }

const (
	// readSize is the buffer a Reader starts with, and the most it keeps
	// once the line that needed a larger one has been consumed.
	readSize = 64 << 10
	// maxEmptyReads is how many reads returning nothing in a row count as
	// a broken reader (io.ErrNoProgress), as in bufio.
	maxEmptyReads = 100
)

// Reader splits a stream into lines of at most max bytes each. It is not safe
// for concurrent use, but it may pass from one goroutine to another between
// calls (a reader role handed over): everything it holds stays with it.
//
// Its buffer grows only as a long line's bytes arrive, and once that line has
// been consumed (at the next ReadLine) it goes back to 64 KiB, so a session
// that saw one large message does not hold its size afterwards.
type Reader struct {
	rd  io.Reader
	max int

	buf     []byte
	r, w    int   // buf[r:w] is read from rd but not yet returned
	scanned int   // buf[r:r+scanned] is known to hold no '\n'
	err     error // from rd, returned once the lines before it are

	// A line over max, being dropped up to its newline.
	skipping bool
	skipped  int  // its bytes dropped so far
	skipCR   bool // the last byte dropped is a '\r'
	head     []byte

	// Line timeout (SetLineTimeout).
	timeout     time.Duration
	setDeadline func(time.Time) error
	armed       bool // the deadline of the current partial line is set
	deadlineSet bool // rd has a non-zero deadline of ours
}

// NewReader returns a Reader of rd's lines; a line longer than max bytes
// (terminator aside) is reported as a *TooLongError.
func NewReader(rd io.Reader, max int) *Reader {
	if max <= 0 {
		panic("jsonl: NewReader with max <= 0")
	}
	return &Reader{rd: rd, max: max}
}

// Max returns the reader's line limit.
func (r *Reader) Max() int { return r.max }

// Held is the size of the buffer the reader holds now: large while a long
// line is (partly) read, back to 64 KiB at most once it is consumed.
func (r *Reader) Held() int { return len(r.buf) }

// SetLineTimeout bounds how long a line may take once it has started: if its
// newline has not arrived d after the reader first waited for the rest of it,
// ReadLine returns an error wrapping ErrLineTimeout. Between lines the reader
// waits as long as it takes (an idle connection is not a partial line).
//
// setReadDeadline is the stream's (net.Conn.SetReadDeadline,
// os.File.SetReadDeadline); from now on the Reader owns the read deadline,
// and nothing else may set it. d <= 0 turns the timeout off.
func (r *Reader) SetLineTimeout(d time.Duration, setReadDeadline func(time.Time) error) {
	if d > 0 && setReadDeadline == nil {
		panic("jsonl: SetLineTimeout without a deadline setter")
	}
	r.timeout, r.setDeadline = d, setReadDeadline
}

// ReadLine returns the next line without its terminator ("\n" or "\r\n").
// The line is valid until the next call; copy what must outlive it. A last
// line without a newline is a line; io.EOF comes after it.
//
// A line over the limit gives a *TooLongError (errors.Is ErrTooLong) once it
// has been read to its end. Any other error of the stream is returned as it
// is, and what had been read of the line so far is kept: after a read
// deadline (os.ErrDeadlineExceeded) the next call carries on with the same
// line, on this goroutine or another.
func (r *Reader) ReadLine() ([]byte, error) {
	r.shrink()
	for empty := 0; ; {
		if line, err, ok := r.scan(); ok {
			return line, err
		}
		if r.err != nil {
			return r.streamErr()
		}
		if err := r.deadline(); err != nil {
			return nil, err
		}
		n := r.fill()
		if n > 0 || r.err != nil {
			empty = 0
		} else if empty++; empty >= maxEmptyReads {
			return nil, io.ErrNoProgress
		}
	}
}

// scan looks for the end of the current line in what is buffered; ok reports
// that ReadLine has its answer.
func (r *Reader) scan() (line []byte, err error, ok bool) {
	if r.skipping {
		i := bytes.IndexByte(r.buf[r.r:r.w], '\n')
		if i < 0 {
			r.drop(r.w - r.r)
			return nil, nil, false
		}
		r.drop(i)
		r.r++ // the '\n'
		return nil, r.endSkip(), true
	}
	i := bytes.IndexByte(r.buf[r.r+r.scanned:r.w], '\n')
	if i < 0 {
		r.scanned = r.w - r.r
		// One byte over max may be the '\r' of a "\r\n".
		if r.scanned > r.max+1 {
			r.startSkip()
		}
		return nil, nil, false
	}
	end := r.r + r.scanned + i
	line = r.buf[r.r:end]
	r.r, r.scanned, r.armed = end+1, 0, false
	line = trimCR(line)
	if len(line) > r.max {
		return nil, &TooLongError{Max: r.max, Len: len(line), Head: bytes.Clone(line[:min(len(line), HeadSize)])}, true
	}
	return line, nil, true
}

// streamErr returns the stream's error once the buffer holds no whole line:
// at EOF first the last line without a newline.
func (r *Reader) streamErr() ([]byte, error) {
	err := r.err
	if errors.Is(err, io.EOF) {
		switch {
		case r.skipping:
			return nil, r.endSkip() // r.err stays: io.EOF comes next
		case r.w > r.r:
			line := trimCR(r.buf[r.r:r.w])
			r.r, r.scanned = r.w, 0
			if len(line) > r.max {
				return nil, &TooLongError{Max: r.max, Len: len(line), Head: bytes.Clone(line[:min(len(line), HeadSize)])}
			}
			return line, nil
		}
	}
	r.err = nil // the next call reads again: a deadline or a signal is not the end
	if r.armed && errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, fmt.Errorf("%w: no newline within %s of a line's start", ErrLineTimeout, r.timeout)
	}
	return nil, err
}

// startSkip begins dropping the current line, keeping its head. The buffer
// that grew to hold it is let go at once.
func (r *Reader) startSkip() {
	r.skipping = true
	r.head = make([]byte, 0, HeadSize)
	r.skipped, r.skipCR = 0, false
	r.drop(r.w - r.r)
	r.scanned = 0
	if len(r.buf) > readSize {
		r.buf = nil
	}
}

// drop discards the next n buffered bytes of a line being skipped.
func (r *Reader) drop(n int) {
	if n > 0 {
		if len(r.head) < HeadSize {
			r.head = append(r.head, r.buf[r.r:r.r+min(n, HeadSize-len(r.head))]...)
		}
		r.skipped += n
		r.skipCR = r.buf[r.r+n-1] == '\r'
		r.r += n
	}
	if r.r == r.w {
		r.r, r.w = 0, 0
	}
}

func (r *Reader) endSkip() error {
	n := r.skipped
	if r.skipCR {
		n--
	}
	e := &TooLongError{Max: r.max, Len: n, Head: r.head[:min(n, len(r.head))]}
	r.skipping, r.head, r.skipped, r.armed = false, nil, 0, false
	return e
}

// deadline arms the line timeout when the reader is about to wait for the
// rest of a line, and clears it when it waits between lines.
func (r *Reader) deadline() error {
	if r.timeout <= 0 {
		return nil
	}
	partial := r.skipping || r.w > r.r
	switch {
	case partial && !r.armed:
		if err := r.setDeadline(time.Now().Add(r.timeout)); err != nil {
			return fmt.Errorf("jsonl: set read deadline: %w", err)
		}
		r.armed, r.deadlineSet = true, true
	case !partial && r.deadlineSet:
		if err := r.setDeadline(time.Time{}); err != nil {
			return fmt.Errorf("jsonl: clear read deadline: %w", err)
		}
		r.deadlineSet = false
	}
	return nil
}

// fill reads once from rd into the free end of the buffer, making room first.
func (r *Reader) fill() int {
	if r.buf == nil {
		r.buf = make([]byte, readSize)
	}
	if r.r == r.w {
		r.r, r.w = 0, 0
	}
	if r.w == len(r.buf) {
		unread := r.w - r.r
		if unread < len(r.buf)/2 {
			copy(r.buf, r.buf[r.r:r.w])
		} else {
			// The line is at least half the buffer: double it, but never
			// beyond what a line of max bytes and its "\r\n" need.
			size := max(min(2*len(r.buf), r.max+2), unread+1)
			nb := make([]byte, size)
			copy(nb, r.buf[r.r:r.w])
			r.buf = nb
		}
		r.r, r.w = 0, unread
	}
	n, err := r.rd.Read(r.buf[r.w:])
	if n < 0 || n > len(r.buf)-r.w {
		n, err = 0, errors.New("jsonl: reader returned an invalid count")
	}
	r.w += n
	if err != nil {
		r.err = err
	}
	return n
}

// shrink lets go of a buffer grown for a line already returned, keeping what
// follows that line.
func (r *Reader) shrink() {
	if len(r.buf) <= readSize {
		return
	}
	unread := r.w - r.r
	size := max(readSize, 2*unread)
	if size >= len(r.buf) {
		return // the next line is long as well: the buffer is still needed
	}
	if unread == 0 {
		r.buf, r.r, r.w = nil, 0, 0
		return
	}
	nb := make([]byte, size)
	copy(nb, r.buf[r.r:r.w])
	r.buf, r.r, r.w = nb, 0, unread
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}
