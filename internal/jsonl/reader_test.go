package jsonl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readAll reads r to its end: the lines, and for each too-long line the
// string "!" followed by its length and head.
func readAll(t *testing.T, r *Reader) []string {
	t.Helper()
	var got []string
	for {
		line, err := r.ReadLine()
		var tl *TooLongError
		switch {
		case err == nil:
			got = append(got, string(line))
		case errors.As(err, &tl):
			got = append(got, fmt.Sprintf("!%d:%s", tl.Len, tl.Head))
		case errors.Is(err, io.EOF):
			return got
		default:
			t.Fatalf("after %d lines: %v", len(got), err)
		}
	}
}

// chunked yields its data n bytes a read, like a slow peer.
type chunked struct {
	data []byte
	n    int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[n:]
	return n, nil
}

func TestReaderSplitsLines(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{"lines", "a\nbb\n", []string{"a", "bb"}},
		{"last line without newline", "a\nbb", []string{"a", "bb"}},
		{"crlf is one terminator", "a\r\nbb\r\n", []string{"a", "bb"}},
		{"a lone cr stays", "a\rb\n", []string{"a\rb"}},
		{"empty lines are lines", "\n\na\n", []string{"", "", "a"}},
		{"nothing", "", nil},
		{"only a newline", "\n", []string{""}},
	}
	for _, tc := range cases {
		for _, n := range []int{1, 2, 1 << 20} {
			t.Run(fmt.Sprintf("%s/%d bytes a read", tc.name, n), func(t *testing.T) {
				got := readAll(t, NewReader(&chunked{[]byte(tc.in), n}, 100))
				if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
			})
		}
	}
}

// The limit counts the line without its terminator; a longer line is read
// to its end and reported with its length and head, and the next line reads
// as if nothing happened.
func TestReaderLineLimit(t *testing.T) {
	const max = 200 << 10 // over the 64 KiB the buffer starts with
	full := strings.Repeat("a", max)
	in := full + "\n" + full + "\r\n" + full + "b\n" + full + "b\r\n" + full + "\r\r\n" + "{}\n" +
		strings.Repeat("c", 3*max) + "\n" + "ok\n" + full + "bc"
	for _, n := range []int{7, 64 << 10, 1 << 30} {
		t.Run(fmt.Sprintf("%d bytes a read", n), func(t *testing.T) {
			got := readAll(t, NewReader(&chunked{[]byte(in), n}, max))
			var lens []string
			for _, g := range got {
				if strings.HasPrefix(g, "!") {
					k, h, _ := strings.Cut(g, ":")
					if len(h) != HeadSize || strings.Trim(h, string(h[0])) != "" {
						t.Errorf("head of a too-long line: %d bytes %.10q...", len(h), h)
					}
					lens = append(lens, k)
				} else if len(g) > 10 {
					lens = append(lens, fmt.Sprint(len(g)))
				} else {
					lens = append(lens, g)
				}
			}
			want := fmt.Sprint([]string{fmt.Sprint(max), fmt.Sprint(max), fmt.Sprintf("!%d", max+1), fmt.Sprintf("!%d", max+1),
				fmt.Sprintf("!%d", max+1), "{}", fmt.Sprintf("!%d", 3*max), "ok", fmt.Sprintf("!%d", max+2)})
			if fmt.Sprint(lens) != want {
				t.Fatalf("got %v, want %v", lens, want)
			}
		})
	}
}

func TestTooLongErrorMatchesErrTooLong(t *testing.T) {
	r := NewReader(strings.NewReader(`{"id":7,"x":"`+strings.Repeat("x", 100)+"\"}\n"), 50)
	_, err := r.ReadLine()
	var tl *TooLongError
	if !errors.Is(err, ErrTooLong) || !errors.As(err, &tl) || !bytes.HasPrefix(tl.Head, []byte(`{"id":7,`)) || tl.Max != 50 {
		t.Fatalf("err = %v (%+v), want a TooLongError with the head", err, tl)
	}
	if _, err := r.ReadLine(); err != io.EOF {
		t.Fatalf("after it: %v, want EOF", err)
	}
}

// The buffer grows with the bytes that have arrived, not to the limit, and
// a large one is let go once its line is consumed: the next call, and any
// wait for more, holds no more than the initial 64 KiB.
func TestReaderGivesMemoryBack(t *testing.T) {
	const max = 64 << 20
	client, server := unixPair(t)
	r := NewReader(server, max)

	// Half a line of 1 MiB: the buffer is at most twice it, not 64 MiB.
	half := bytes.Repeat([]byte("x"), 1<<20)
	go client.Write(half)
	waitBuffered(t, r, server, len(half))
	if c := len(r.buf); c > 2*len(half)+readSize {
		t.Fatalf("after 1 MiB of a line the buffer is %d bytes", c)
	}

	// The rest of a 16 MiB line and a small one after it.
	go func() {
		client.Write(bytes.Repeat([]byte("x"), 15<<20))
		client.Write([]byte("\n{}\n"))
	}()
	line, err := r.ReadLine()
	if err != nil || len(line) != 16<<20 {
		t.Fatalf("read %d bytes, %v", len(line), err)
	}
	if line, err = r.ReadLine(); err != nil || string(line) != "{}" {
		t.Fatalf("next line %q, %v", line, err)
	}
	if c := len(r.buf); c > readSize {
		t.Fatalf("after a 16 MiB line the reader keeps %d bytes", c)
	}

	// A too-long line is dropped as it arrives: the reader never holds much
	// more than the limit, and nothing of it afterwards.
	small := NewReader(server, 1<<20)
	go func() {
		for range 8 {
			client.Write(bytes.Repeat([]byte("y"), 1<<20))
		}
		client.Write([]byte("\n"))
	}()
	if _, err := small.ReadLine(); !errors.Is(err, ErrTooLong) {
		t.Fatalf("8 MiB over a 1 MiB limit: %v", err)
	}
	small.shrink()
	if c := len(small.buf); c > readSize {
		t.Fatalf("after a dropped line the reader keeps %d bytes", c)
	}
}

// waitBuffered reads with a deadline until r holds n bytes of a partial line.
func waitBuffered(t *testing.T, r *Reader, conn net.Conn, n int) {
	t.Helper()
	for r.w-r.r < n {
		conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := r.ReadLine(); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("waiting for a partial line: %v", err)
		}
	}
	conn.SetReadDeadline(time.Time{})
}

// A read cut short by a deadline keeps the part of the line it had: the
// next ReadLine, here on another goroutine as a handed-over reader role,
// returns the whole line.
func TestReaderKeepsAPartialLineAcrossADeadline(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	r := NewReader(server, 1<<20)
	go client.Write([]byte(`{"id":1,"res`))
	waitBuffered(t, r, server, len(`{"id":1,"res`))
	done := make(chan string)
	go func() {
		line, err := r.ReadLine()
		done <- fmt.Sprintf("%s %v", line, err)
	}()
	client.Write([]byte("ult\":2}\n"))
	if got := <-done; got != `{"id":1,"result":2} <nil>` {
		t.Fatalf("got %s", got)
	}
}

// A line that has started must end within the line timeout; an idle stream
// between lines is not timed.
func TestReaderLineTimeout(t *testing.T) {
	// d is long enough that a loaded machine still writes the two parts of a
	// line within it; the test asserts no duration.
	const d = 200 * time.Millisecond
	client, server := unixPair(t)
	r := NewReader(server, 1<<20)
	r.SetLineTimeout(d, server.SetReadDeadline)

	// Idle longer than d, then a line sent in two parts within d.
	go func() {
		time.Sleep(2 * d)
		client.Write([]byte(`{"a":`))
		client.Write([]byte("1}\n{\"b\""))
	}()
	if line, err := r.ReadLine(); err != nil || string(line) != `{"a":1}` {
		t.Fatalf("a line after an idle spell: %q, %v", line, err)
	}
	// The partial {"b" that came with it gets a timeout of its own.
	if _, err := r.ReadLine(); !errors.Is(err, ErrLineTimeout) {
		t.Fatalf("a partial line left hanging: %v, want ErrLineTimeout", err)
	}

	// After a line completes the deadline is cleared: idle again, then a line.
	client2, server2 := unixPair(t)
	r2 := NewReader(server2, 1<<20)
	r2.SetLineTimeout(d, server2.SetReadDeadline)
	go func() {
		client2.Write([]byte(`{"a":`))
		time.Sleep(d / 5)
		client2.Write([]byte("1}\n"))
		time.Sleep(2 * d)
		client2.Write([]byte("{}\n"))
	}()
	for _, want := range []string{`{"a":1}`, `{}`} {
		if line, err := r2.ReadLine(); err != nil || string(line) != want {
			t.Fatalf("got %q, %v; want %s", line, err, want)
		}
	}

	// A too-long line being dropped is still a line that has started.
	client3, server3 := unixPair(t)
	r3 := NewReader(server3, 10)
	r3.SetLineTimeout(d, server3.SetReadDeadline)
	go client3.Write([]byte(strings.Repeat("z", 100)))
	if _, err := r3.ReadLine(); !errors.Is(err, ErrLineTimeout) {
		t.Fatalf("a too-long line left hanging: %v, want ErrLineTimeout", err)
	}
}

// unixPair returns both ends of a connected Unix socket.
func unixPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// A reader whose Read returns nothing forever is a broken reader.
func TestReaderStopsOnAReaderThatNeverProgresses(t *testing.T) {
	if _, err := NewReader(stuck{}, 10).ReadLine(); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("err = %v", err)
	}
}

type stuck struct{}

func (stuck) Read([]byte) (int, error) { return 0, nil }
