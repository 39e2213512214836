package broker

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAuditLogAppendsAcrossReopensAndIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "engine-io.jsonl")
	for i, op := range []string{"graph.read", "graph.write"} {
		a, err := OpenAuditLog(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Write(AuditRecord{At: time.Unix(int64(i), 0).UTC(), Skill: "s", Tool: "t", CallID: "j1.1", Op: op, Scope: "read"}); err != nil {
			t.Fatal(err)
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"at":"1970-01-01T00:00:00Z","skill":"s","tool":"t","call_id":"j1.1","op":"graph.read","scope":"read","allowed":false,"ms":0}` + "\n" +
		`{"at":"1970-01-01T00:00:01Z","skill":"s","tool":"t","call_id":"j1.1","op":"graph.write","scope":"read","allowed":false,"ms":0}` + "\n"
	if string(b) != want {
		t.Fatalf("audit log:\n%s\nwant:\n%s", b, want)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
}

func TestOpenAuditLogSaysWhatFailed(t *testing.T) {
	_, err := OpenAuditLog(filepath.Join(t.TempDir(), "no-such-dir", "engine-io.jsonl"))
	if err == nil || !strings.HasPrefix(err.Error(), "open audit log: ") || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("open in a missing folder: %v", err)
	}
}
