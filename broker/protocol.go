package broker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

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
type notProtocolError struct{ reason string }

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
