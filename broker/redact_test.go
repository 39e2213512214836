package broker

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// The call's Redactor sees the worker's error, traceback, stderr, log and
// progress lines before the handler or the caller does.
func TestRunPassesWhatTheWorkerSaysThroughTheRedactor(t *testing.T) {
	r := newTestRunner(t, nil)
	red := func(s string) string {
		return strings.NewReplacer("bad", "[r]", "careful", "[r]", "half", "[r]", "line 1", "[r]", "3", "[r]").Replace(s)
	}
	ctx := WithRedactor(context.Background(), red)

	_, err := r.Run(ctx, fixtureCall(t, "report_error", map[string]any{"kind": "skill_failed"}), nil)
	re := runError(t, err, KindSkillFailed)
	if re.Message != "ValueError: [r]" || re.Traceback != "Traceback: [r]" {
		t.Errorf("error not redacted: %+v", re)
	}
	_, err = r.Run(ctx, fixtureCall(t, "exit3", nil), nil)
	if re := runError(t, err, KindSkillFailed); strings.Contains(re.Stderr, "3") || strings.Contains(re.Message, "3") {
		t.Errorf("stderr or exit message not redacted: %+v", re)
	}
	rec := &recorder{}
	if _, err := r.Run(ctx, fixtureCall(t, "progress_log", nil), rec); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if strings.Contains(strings.Join(rec.progress, "|"), "half") || strings.Contains(strings.Join(rec.logs, "|"), "careful") {
		t.Errorf("progress %q or logs %q not redacted", rec.progress, rec.logs)
	}
}

// The guard passes protocol lines on, and ends the stream at the first byte of
// a line that cannot be one, with its head, after the lines before it.
func TestLineGuardRefusesANonObjectLineAtItsFirstByte(t *testing.T) {
	input := `{"a":1}` + "\n  \t{\"b\":2}\r\n\n" + "oops this is text\n" + `{"never":"read"}` + "\n"
	lr, g := newWorkerLineReader(strings.NewReader(input), 1<<20, newBytePool(1<<20), nil, false)
	defer g.release()
	var lines []string
	var err error
	for {
		var line []byte
		if line, err = lr.next(); err != nil {
			break
		}
		lines = append(lines, strings.TrimSpace(string(line)))
	}
	var bad *notProtocolError
	if !errors.As(err, &bad) || bad.head != "oops this is text" {
		t.Fatalf("err = %v (%#v), want a notProtocolError with the line's head", err, bad)
	}
	if strings.Join(lines, "|") != `{"a":1}|{"b":2}|` {
		t.Fatalf("lines before it: %q", lines)
	}
	// A stream of good lines ends at EOF as before.
	lr, g = newWorkerLineReader(strings.NewReader(`{"a":1}`+"\n"+`{"b":2}`), 1<<20, newBytePool(1<<20), nil, false)
	defer g.release()
	for range 2 {
		if _, err := lr.next(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := lr.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last line: %v", err)
	}
}
