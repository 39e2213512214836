package broker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"

	"github.com/agentos/agentos/internal/jsonl"
)

// Message types of the worker protocol (docs/worker-protocol.md).
const (
	msgCall     = "call"
	msgOp       = "op"
	msgOpResult = "op_result"
	msgProgress = "progress"
	msgLog      = "log"
	msgResult   = "result"
	msgError    = "error"
)

// callMessage is the one line the engine sends first.
type callMessage struct {
	Type       string          `json:"type"`
	ID         string          `json:"id"`
	Skill      string          `json:"skill"`
	Module     string          `json:"module"`
	Function   string          `json:"function"`
	Params     json.RawMessage `json:"params"`
	DeadlineMS int64           `json:"deadline_ms"`
	Settings   json.RawMessage `json:"settings,omitempty"` // the user's settings for the skill
}

// opResultMessage answers one op; exactly one of Result and Error is set.
type opResultMessage struct {
	Type   string          `json:"type"`
	ID     string          `json:"id"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *wireError      `json:"error,omitempty"`
}

// wireError is the error object of op_result and error messages.
type wireError struct {
	Kind      string `json:"kind"`
	Message   string `json:"message"`
	Traceback string `json:"traceback,omitempty"`
}

// workerMessage is any line the worker writes; Type says which fields matter.
type workerMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Op      string          `json:"op"`
	Params  json.RawMessage `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   *wireError      `json:"error"`
	Current float64         `json:"current"`
	Total   float64         `json:"total"`
	Message string          `json:"message"`
	Delta   string          `json:"delta"` // a progress message's streamed piece of the answer
	Level   string          `json:"level"`
}

// final reports whether the message ends the call.
func (m *workerMessage) final() bool { return m.Type == msgResult || m.Type == msgError }

// encodeLine marshals v as one protocol line, newline included.
func encodeLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// errNotProtocol marks a stdout line that is not a valid worker message;
// every such error is a *notProtocolError saying why.
var errNotProtocol = errors.New("not a protocol message")

// notProtocolError is a stdout line that is not a worker message, and why.
// head is the line's start when it was refused before it was read whole.
type notProtocolError struct{ reason, head string }

func (e *notProtocolError) Error() string { return errNotProtocol.Error() + ": " + e.reason }
func (e *notProtocolError) Unwrap() error { return errNotProtocol }

func notProtocol(format string, args ...any) error {
	return &notProtocolError{reason: fmt.Sprintf(format, args...)}
}

// decodeWorkerMessage parses and checks one stdout line. Anything that is not a
// well-formed message of a type the worker may send is errNotProtocol.
func decodeWorkerMessage(line []byte) (*workerMessage, error) {
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, notProtocol("not a JSON object")
	}
	var m workerMessage
	if err := json.Unmarshal(trimmed, &m); err != nil {
		return nil, notProtocol("%v", err)
	}
	switch m.Type {
	case msgOp:
		if m.ID == "" || m.Op == "" {
			return nil, notProtocol("op without id or op name")
		}
		if m.Params == nil {
			m.Params = json.RawMessage("{}")
		}
	case msgProgress:
	case msgLog:
		if m.Level == "" {
			m.Level = "info"
		}
	case msgResult:
		// Python's json.dumps writes None as null; a missing result means the same.
		if m.Result == nil {
			m.Result = json.RawMessage("null")
		}
	case msgError:
		if m.Error == nil || m.Error.Message == "" {
			return nil, notProtocol("error without error.message")
		}
	case "":
		return nil, notProtocol("no type")
	default:
		return nil, notProtocol("unknown type %q", m.Type)
	}
	return &m, nil
}

// errOutputLimit means the worker wrote more to stdout than Limits.MaxOutput.
var errOutputLimit = errors.New("stdout output limit exceeded")

// lineReader splits the worker's stdout into lines while counting every byte against
// a budget, so neither one endless line nor an endless stream of lines can make the
// engine buffer more than the budget.
type lineReader struct {
	jr *jsonl.Reader
}

func newLineReader(r io.Reader, budget int64) *lineReader {
	budget = max(budget, 1)
	return &lineReader{jr: jsonl.NewReader(&budgetReader{r: r, remaining: budget}, int(min(budget, math.MaxInt)))}
}

// newWorkerLineReader is newLineReader for a worker's stdout, through a lineGuard
// on pool: the reader the runner uses. release gives back what the guard reserved.
// nested makes the guard take its share without waiting (linepool.go).
func newWorkerLineReader(r io.Reader, budget int64, pool *bytePool, stop <-chan struct{}, nested bool) (*lineReader, *lineGuard) {
	budget = max(budget, 1)
	g := &lineGuard{r: &budgetReader{r: r, remaining: budget}, pool: pool, reserve: budget, stop: stop, nested: nested}
	return &lineReader{jr: jsonl.NewReader(g, int(min(budget, math.MaxInt)))}, g
}

// next returns the next line without its newline, valid until the following call.
// A last line without a newline is returned as a line; io.EOF follows it.
func (lr *lineReader) next() ([]byte, error) {
	return lr.jr.ReadLine()
}

// budgetReader passes on at most remaining bytes of r; a byte beyond them is
// errOutputLimit. Lines that end within the budget are still read before it.
type budgetReader struct {
	r         io.Reader
	remaining int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	// One byte more than the budget allows tells more output from the end of it.
	n, err := b.r.Read(p[:min(int64(len(p)), b.remaining+1)])
	if int64(n) > b.remaining {
		n = int(b.remaining)
		b.remaining = 0
		return n, errOutputLimit
	}
	b.remaining -= int64(n)
	return n, err
}

// lineGuard sits between a worker's stdout and the line splitter, so that what a
// worker writes costs the engine little memory whatever it is:
//   - a line whose first non-blank byte is not '{' cannot be a protocol message:
//     the stream ends at that byte (a *notProtocolError with the line's head), and
//     the rest of the line is never read, let alone buffered;
//   - a line that grows past SmallLine waits for a share of the large-line pool
//     before more of it is read (linepool.go).
type lineGuard struct {
	r       io.Reader
	pool    *bytePool
	reserve int64           // what a large line reserves: the most it may grow to
	stop    <-chan struct{} // closed when the call ends: stop waiting for the pool
	nested  bool            // take the share without waiting

	mu      sync.Mutex // held is read by release from another goroutine
	held    int64      // reserved from pool, until release
	lineLen int64      // bytes of the current line read so far
	inLine  bool       // the current line has begun with '{'
}

func (g *lineGuard) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	g.mu.Lock()
	held := g.held
	g.mu.Unlock()
	if held == 0 {
		if room := SmallLine - g.lineLen; room > 0 {
			p = p[:min(int64(len(p)), room)]
		} else {
			var n int64
			if g.nested {
				n = g.pool.force(g.reserve)
			} else {
				n = g.pool.acquire(g.reserve, g.stop)
			}
			if n == 0 {
				return 0, os.ErrClosed // the call ended while the line waited
			}
			g.mu.Lock()
			g.held = n
			g.mu.Unlock()
		}
	}
	n, err := g.r.Read(p)
	if i, bad := g.scan(p[:n]); bad != nil {
		return i, bad
	}
	return n, err
}

// scan follows b through the lines; at the first byte that makes a line not a
// protocol message it returns the count of bytes before it and the error.
func (g *lineGuard) scan(b []byte) (int, error) {
	for i := 0; i < len(b); {
		if g.inLine {
			j := bytes.IndexByte(b[i:], '\n')
			if j < 0 {
				g.lineLen += int64(len(b) - i)
				return len(b), nil
			}
			i += j + 1
			g.inLine, g.lineLen = false, 0
			continue
		}
		switch b[i] {
		case '\n':
			g.lineLen = 0
		case ' ', '\t', '\r':
			g.lineLen++
		case '{':
			g.inLine = true
			g.lineLen++
		default:
			head := b[i:]
			if j := bytes.IndexByte(head, '\n'); j >= 0 {
				head = head[:j]
			}
			return i, &notProtocolError{reason: "not a JSON object", head: string(head[:min(len(head), 160)])}
		}
		i++
	}
	return len(b), nil
}

// holding reports whether the guard holds a share of the pool.
func (g *lineGuard) holding() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held > 0
}

// release gives back the guard's share of the pool; the call has ended. Calling
// it again does nothing.
func (g *lineGuard) release() {
	g.mu.Lock()
	n := g.held
	g.held = 0
	g.mu.Unlock()
	g.pool.release(n)
}
