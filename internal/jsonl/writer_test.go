package jsonl

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Lines written at once from many goroutines arrive whole, over a socket
// and over a pipe (where writes above PIPE_BUF are not atomic by themselves).
func TestWriterConcurrentLinesArriveWhole(t *testing.T) {
	type msg struct {
		W, N int
		Pad  string
	}
	streams := map[string]func(t *testing.T) (io.WriteCloser, io.Reader){
		"unix socket": func(t *testing.T) (io.WriteCloser, io.Reader) {
			c, s := unixPair(t)
			return c, s
		},
		"pipe": func(t *testing.T) (io.WriteCloser, io.Reader) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return w, r
		},
	}
	const writers, each = 8, 40
	for name, open := range streams {
		t.Run(name, func(t *testing.T) {
			out, in := open(t)
			w := NewWriter(out, time.Minute)
			var wg sync.WaitGroup
			for i := range writers {
				wg.Go(func() {
					for n := range each {
						// Sizes from a few bytes to past the scratch buffer.
						b, _ := json.Marshal(msg{W: i, N: n, Pad: strings.Repeat("p", (n*n*97)%(200<<10))})
						if n%3 == 0 {
							b = append(b, '\n')
						}
						if err := w.WriteLine(b); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			go func() { wg.Wait(); out.Close() }()
			r := NewReader(in, 1<<20)
			next := make([]int, writers)
			for {
				line, err := r.ReadLine()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				var m msg
				if err := json.Unmarshal(line, &m); err != nil {
					t.Fatalf("a line that is not one message: %.80s...: %v", line, err)
				}
				if m.W < 0 || m.W >= writers || m.N != next[m.W] || len(m.Pad) != (m.N*m.N*97)%(200<<10) {
					t.Fatalf("message %d of writer %d, want %d", m.N, m.W, next[m.W])
				}
				next[m.W]++
			}
			for i, n := range next {
				if n != each {
					t.Errorf("writer %d: %d lines arrived, want %d", i, n, each)
				}
			}
		})
	}
}

func TestWriterRefusesANewlineInsideALine(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, 0)
	if err := w.WriteLine([]byte("{\"a\":\n1}")); !errors.Is(err, ErrNewline) {
		t.Fatalf("err = %v, want ErrNewline", err)
	}
	if err := w.WriteLine([]byte(`{"a":1}`)); err != nil {
		t.Fatalf("the stream is not broken by a refused line: %v", err)
	}
	if err := w.WriteLine([]byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if out.String() != "{\"a\":1}\n{}\n" {
		t.Fatalf("wrote %q", out.String())
	}
}

// A peer that stops reading gets the write timeout, and the writer stays
// failed: part of a line may have gone out.
func TestWriterTimesOutOnAPeerThatDoesNotRead(t *testing.T) {
	client, _ := unixPair(t)
	w := NewWriter(client, 50*time.Millisecond)
	big := bytes.Repeat([]byte("x"), 64<<20) // more than any socket buffer
	err := w.WriteLine(big)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	if err2 := w.WriteLine([]byte("{}")); !errors.Is(err2, os.ErrDeadlineExceeded) {
		t.Fatalf("after a failed write: %v, want the same error", err2)
	}
}
