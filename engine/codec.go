package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// DefaultMaxLine caps one request line (DESIGN §4).
const DefaultMaxLine = 16 << 20

var errLineTooLong = errors.New("line too long")

// lineStream is a newline-delimited jsonrpc2.ObjectStream that survives bad
// input. The stock codecs hand decode errors to jsonrpc2, which then closes
// the connection; here a malformed or oversize line is answered with an error
// response on the spot and reading goes on with the next line.
type lineStream struct {
	conn    net.Conn
	r       *bufio.Reader
	maxLine int

	wmu sync.Mutex
}

func newLineStream(conn net.Conn, maxLine int) *lineStream {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	return &lineStream{conn: conn, r: bufio.NewReaderSize(conn, 64<<10), maxLine: maxLine}
}

// WriteObject writes obj as one JSON line. Safe for concurrent use.
func (s *lineStream) WriteObject(obj any) error {
	var b []byte
	var err error
	if m, ok := obj.(json.Marshaler); ok {
		// jsonrpc2's messages marshal themselves; json.Marshal would only
		// re-validate and copy what they produce.
		b, err = m.MarshalJSON()
	} else {
		b, err = json.Marshal(obj)
	}
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	return s.writeLine(b)
}

func (s *lineStream) writeLine(b []byte) error {
	b = append(b, '\n')
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.conn.Write(b)
	return err
}

// ReadObject reads the next well-formed message into v. Lines that are not
// messages are answered here and skipped; only I/O errors are returned.
func (s *lineStream) ReadObject(v any) error {
	for {
		line, err := s.readLine()
		if errors.Is(err, errLineTooLong) {
			s.replyError(nil, CodeInvalidRequest, KindInvalid,
				fmt.Sprintf("request line is larger than the %d MiB limit; send smaller requests (split a batch into several data.write calls)", s.maxLine>>20))
			continue
		}
		if err != nil {
			if len(bytes.TrimSpace(line)) == 0 || !errors.Is(err, io.EOF) {
				return err
			}
			// A final line without a newline is still a message.
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			if err != nil {
				return err
			}
			continue
		}
		if line[0] == '[' {
			s.replyError(nil, CodeInvalidRequest, KindInvalid, "batch requests are not supported; send one JSON-RPC object per line (requests on one connection run concurrently)")
			continue
		}
		// Decode first and validate only on failure: the happy path should
		// parse each line as few times as possible.
		if uerr := json.Unmarshal(line, v); uerr != nil {
			if !json.Valid(line) {
				s.replyError(nil, CodeParseError, KindInvalid, "parse error: the line is not valid JSON; send one JSON-RPC 2.0 object per line")
				continue
			}
			s.replyError(peekID(line), CodeInvalidRequest, KindInvalid,
				"invalid request: expected a JSON-RPC 2.0 object with \"method\" (and \"id\" for a call): "+uerr.Error())
			continue
		}
		return nil
	}
}

// readLine returns one line without its newline. A line longer than maxLine
// is discarded up to its newline and reported as errLineTooLong.
func (s *lineStream) readLine() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := s.r.ReadSlice('\n')
		if len(buf)+len(chunk) > s.maxLine+1 {
			if errors.Is(err, bufio.ErrBufferFull) {
				if derr := s.discardLine(); derr != nil {
					return nil, derr
				}
			}
			return nil, errLineTooLong
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			buf = append(buf, chunk...)
			continue
		}
		if buf == nil {
			// Fast path: the line fit the reader's buffer; copy because the
			// slice is only valid until the next read.
			buf = make([]byte, len(chunk))
			copy(buf, chunk)
		} else {
			buf = append(buf, chunk...)
		}
		return bytes.TrimSuffix(buf, []byte{'\n'}), err
	}
}

func (s *lineStream) discardLine() error {
	for {
		_, err := s.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return err
	}
}

func (s *lineStream) replyError(id json.RawMessage, code int64, kind Kind, msg string) {
	if id == nil {
		id = json.RawMessage("null")
	}
	resp := struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   any             `json:"error"`
	}{"2.0", id, rpcError(code, kind, msg)}
	b, _ := json.Marshal(resp)
	_ = s.writeLine(b)
}

// peekID extracts the id of a message that failed to decode, so the error
// response can still be matched by the caller.
func peekID(line []byte) json.RawMessage {
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(line, &m) != nil || len(m.ID) == 0 {
		return nil
	}
	if m.ID[0] == '"' || (m.ID[0] >= '0' && m.ID[0] <= '9') || m.ID[0] == '-' {
		return m.ID
	}
	return nil
}

// Close closes the underlying connection.
func (s *lineStream) Close() error { return s.conn.Close() }
