package broker

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestDecodeWorkerMessageAcceptsEveryWorkerType(t *testing.T) {
	cases := map[string]func(*workerMessage) bool{
		`{"type":"op","id":"o1","op":"http.request","params":{"url":"u"}}`: func(m *workerMessage) bool {
			return m.ID == "o1" && m.Op == "http.request" && string(m.Params) == `{"url":"u"}`
		},
		`{"type":"op","id":"o2","op":"secrets.get"}`: func(m *workerMessage) bool { return string(m.Params) == `{}` },
		`{"type":"progress","current":3,"total":10,"message":"x"}`: func(m *workerMessage) bool {
			return m.Current == 3 && m.Total == 10 && m.Message == "x"
		},
		`{"type":"log","message":"hi"}`:                func(m *workerMessage) bool { return m.Level == "info" && m.Message == "hi" },
		`{"type":"result","id":"c1","result":{"a":1}}`: func(m *workerMessage) bool { return m.final() && string(m.Result) == `{"a":1}` },
		`{"type":"result","id":"c1","result":null}`:    func(m *workerMessage) bool { return string(m.Result) == `null` },
		`{"type":"result","id":"c1"}`:                  func(m *workerMessage) bool { return string(m.Result) == `null` },
		`  {"type":"error","id":"c1","error":{"kind":"invalid","message":"m","traceback":"tb"}}  `: func(m *workerMessage) bool {
			return m.final() && m.Error.Kind == "invalid" && m.Error.Traceback == "tb"
		},
	}
	for line, check := range cases {
		m, err := decodeWorkerMessage([]byte(line))
		if err != nil {
			t.Errorf("%s: %v", line, err)
			continue
		}
		if !check(m) {
			t.Errorf("%s: decoded as %+v", line, m)
		}
	}
}

func TestDecodeWorkerMessageRejectsWhatIsNotProtocol(t *testing.T) {
	for _, line := range []string{
		``, `hello`, `[1,2]`, `null`, `{"type":"result"`, `{}`, `{"type":"call","id":"c1"}`,
		`{"type":"op_result","id":"o1"}`, `{"type":"op","op":"http.request"}`, `{"type":"op","id":"o1"}`,
		`{"type":"error","id":"c1"}`, `{"type":"error","id":"c1","error":{"kind":"x"}}`, `{"type":1}`,
	} {
		if _, err := decodeWorkerMessage([]byte(line)); !errors.Is(err, errNotProtocol) {
			t.Errorf("%q: err = %v, want errNotProtocol", line, err)
		}
	}
}

func TestLineReaderSplitsLinesAndEnforcesTheBudget(t *testing.T) {
	read := func(input string, budget int64) (lines []string, err error) {
		lr := newLineReader(strings.NewReader(input), budget)
		for {
			line, err := lr.next()
			if err != nil {
				return lines, err
			}
			lines = append(lines, string(line))
		}
	}
	long := strings.Repeat("z", 200<<10) // longer than the bufio buffer
	cases := []struct {
		name   string
		input  string
		budget int64
		want   []string
		err    error
	}{
		{"lines", "a\nbb\n", 100, []string{"a", "bb"}, io.EOF},
		{"last line without newline", "a\nbb", 100, []string{"a", "bb"}, io.EOF},
		{"crlf lines", "a\r\nbb\r\n", 100, []string{"a", "bb"}, io.EOF},
		{"line longer than the buffer", long + "\nx\n", 1 << 20, []string{long, "x"}, io.EOF},
		{"exactly the budget", "abc\n", 4, []string{"abc"}, io.EOF},
		{"one byte over the budget", "abc\nd\n", 5, []string{"abc"}, errOutputLimit},
		{"endless line", long, 1 << 10, nil, errOutputLimit},
		{"many lines", strings.Repeat("line\n", 1000), 100, slices.Repeat([]string{"line"}, 20), errOutputLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lines, err := read(tc.input, tc.budget)
			if !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
			if strings.Join(lines, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %d lines, want %d", len(lines), len(tc.want))
			}
		})
	}
}
