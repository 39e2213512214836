package mcpproxy

import (
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A blocking pipe, as an MCP client hands it over for stdin, is read through
// a non-blocking description of its own; the lines and the EOF still come,
// and the pipe we were given stays in blocking mode.
func TestStdinPipeIsReadPollable(t *testing.T) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r, w := os.NewFile(uintptr(fds[0]), "stdin"), os.NewFile(uintptr(fds[1]), "w")
	defer r.Close()
	in, closeIn := pollable(r)
	defer closeIn()
	if in == io.Reader(r) {
		t.Fatal("a blocking pipe was not reopened")
	}
	go func() {
		w.Write([]byte("{\"jsonrpc\":\"2.0\"}\n"))
		w.Close()
	}()
	got, err := io.ReadAll(in)
	if err != nil || string(got) != "{\"jsonrpc\":\"2.0\"}\n" {
		t.Fatalf("read %q, %v", got, err)
	}
	fl, err := unix.FcntlInt(uintptr(fds[0]), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_NONBLOCK != 0 {
		t.Fatalf("the given pipe's flags changed: %#x, %v", fl, err)
	}
}

func TestStdinOtherReadersAreLeftAlone(t *testing.T) {
	sr := strings.NewReader("x")
	if in, closeIn := pollable(sr); in != io.Reader(sr) {
		t.Fatal("a non-file reader was replaced")
	} else {
		closeIn()
	}
	f, err := os.CreateTemp(t.TempDir(), "in")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if in, closeIn := pollable(f); in != io.Reader(f) {
		t.Fatal("a regular file was replaced")
	} else {
		closeIn()
	}
}
