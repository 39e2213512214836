package graph

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/agentos/agentos/shapes"
)

// decoded is a JSON text decoded as the engine decodes a request.
func decoded(t *testing.T, text string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var m map[string]any
	ok(t, dec.Decode(&m))
	return m
}

// orderedReadsWork reads task and its also-parent item in field order,
// both directions: the reads a malformed fields document would break.
func orderedReadsWork(t *testing.T, s *Store, want int) {
	t.Helper()
	for _, q := range []Query{{Shape: "task", Order: "title"}, {Shape: "task", Order: "-priority"}, {Shape: "item", Order: "-title"}} {
		page, err := s.Query(context.Background(), q)
		if err != nil {
			t.Fatalf("ordered read %+v: %v", q, err)
		}
		if len(page.Nodes) != want {
			t.Fatalf("ordered read %+v: %d nodes, want %d", q, len(page.Nodes), want)
		}
	}
}

func TestValuesNestedTooDeepAreRefusedAndOrderedReadsKeepWorking(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	_, err := s.Create(ctx, "task", map[string]any{"title": "before", "priority": 1}, nil)
	ok(t, err)
	deep := strings.Repeat("[", 1001) + "1" + strings.Repeat("]", 1001)
	for _, text := range []string{
		`{"title": "deep", "meta": ` + deep + `}`,
		`{"title": "deep", "tags": ["ok", ` + deep + `]}`,
		`{"title": "deep", "meta": {"a": ` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}}`,
	} {
		_, err := s.Create(ctx, "task", decoded(t, text), nil)
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, shapes.ErrInvalid) {
			t.Fatalf("create of a value nested too deep: %v, want ErrInvalid", err)
		}
		_, err = s.Write(ctx, "task", []map[string]any{{"title": "fine"}, decoded(t, text)})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "items[1]") {
			t.Fatalf("batch with a value nested too deep: %v, want ErrInvalid naming items[1]", err)
		}
	}
	orderedReadsWork(t, s, 1)
	shallow := `{"title": "shallow", "meta": ` + strings.Repeat("[", 64) + `"x"` + strings.Repeat("]", 64) + `}`
	n, err := s.Create(ctx, "task", decoded(t, shallow), nil)
	ok(t, err)
	if raw, _ := n.Fields["meta"].(json.RawMessage); strings.Count(string(raw), "[") != 64 {
		t.Fatalf("shallow value stored as %v", n.Fields["meta"])
	}
	orderedReadsWork(t, s, 2)
}

func TestNumbersOutsideFloat64AreRefused(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	for _, text := range []string{
		`{"title": "huge", "priority": 1e400}`,
		`{"title": "huge", "estimate": -1e400}`,
		`{"title": "huge", "meta": {"n": [1, 1e400]}}`,
	} {
		if _, err := s.Create(ctx, "task", decoded(t, text), nil); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "out of range") {
			t.Fatalf("create %s: %v, want ErrInvalid saying out of range", text, err)
		}
	}
	n, err := s.Create(ctx, "task", decoded(t, `{"title": "big", "priority": 7, "estimate": 1e308}`), nil)
	ok(t, err)
	_, err = s.Update(ctx, n.ID, decoded(t, `{"priority": 1e400}`))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("update to 1e400: %v, want ErrInvalid", err)
	}
	// The whole shape still reads and decodes, as `agentos read task` does.
	page, err := s.Query(ctx, Query{Shape: "task", Order: "priority"})
	ok(t, err)
	raw, err := json.Marshal(page)
	ok(t, err)
	var back struct {
		Nodes []struct{ Fields map[string]any }
	}
	if err := json.Unmarshal(raw, &back); err != nil || len(back.Nodes) != 1 || back.Nodes[0].Fields["priority"] != 7.0 {
		t.Fatalf("page %s does not decode: %v", raw, err)
	}
}

func TestNullItemsAreRefusedAndNothingOfTheBatchIsWritten(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	var items []map[string]any
	ok(t, json.Unmarshal([]byte(`[{"title": "a"}, null, {"title": "c"}]`), &items))
	_, err := s.Write(ctx, "task", items)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "items[1]") {
		t.Fatalf("write with a null item: %v, want ErrInvalid naming items[1]", err)
	}
	_, err = s.Import(ctx, "sync", "task", items)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "items[1]") {
		t.Fatalf("import with a null item: %v, want ErrInvalid naming items[1]", err)
	}
	_, err = s.Write(ctx, "task", []map[string]any{nil})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "items[0]") {
		t.Fatalf("write of [null]: %v, want ErrInvalid naming items[0]", err)
	}
	c, err := s.Counts(ctx)
	ok(t, err)
	if c.Nodes != 0 {
		t.Fatalf("refused batches stored %d nodes", c.Nodes)
	}
	res, err := s.Write(ctx, "task", []map[string]any{{"title": "a"}})
	if err != nil || res.Created != 1 {
		t.Fatalf("a clean batch after the refused ones: %+v %v", res, err)
	}
}

func TestIDsThatAreNotUTF8AreInvalidAndNotEchoed(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	n, err := s.Create(ctx, "note", map[string]any{"name": "n"}, nil)
	ok(t, err)
	for _, bad := range []string{"\xc0\xae\xc0\xae/etc", "01ARZ3NDEKTSV4RRFFQ69G5FA\xff", "\x1b]0;\xfe\x07"} {
		calls := map[string]func() error{
			"read":      func() error { _, err := s.Get(ctx, bad); return err },
			"update":    func() error { _, err := s.Update(ctx, bad, map[string]any{"name": "x"}); return err },
			"delete":    func() error { _, err := s.Delete(ctx, bad); return err },
			"restore":   func() error { _, err := s.Restore(ctx, bad); return err },
			"link from": func() error { _, err := s.Link(ctx, bad, "see_also", n.ID); return err },
			"link to":   func() error { _, err := s.Link(ctx, n.ID, "see_also", bad); return err },
			"unlink":    func() error { return s.Unlink(ctx, n.ID, "see_also", bad) },
			"neighbors": func() error { _, err := s.Neighbors(ctx, bad, "", "", 0); return err },
			"history":   func() error { _, err := s.History(ctx, bad); return err },
			"label":     func() error { _, err := s.Link(ctx, n.ID, "see\xff", n.ID); return err },
		}
		for name, call := range calls {
			err := call()
			if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrNotFound) {
				t.Errorf("%s of %q: %v, want ErrInvalid", name, bad, err)
				continue
			}
			if msg := err.Error(); strings.Contains(msg, bad) || !utf8.ValidString(msg) || strings.ContainsAny(msg, "\x1b\x07") {
				t.Errorf("%s: the message %q echoes the raw id", name, msg)
			}
		}
	}
	// A well-formed text that is no id stays not found, quoted.
	if _, err := s.Get(ctx, "no\nsuch"); !errors.Is(err, ErrNotFound) || strings.Contains(err.Error(), "\n") {
		t.Errorf("read of a malformed id: %v, want ErrNotFound with the id quoted", err)
	}
	if _, err := s.Get(ctx, n.ID); err != nil {
		t.Fatalf("the store stopped answering: %v", err)
	}
}

// withUmask runs the test under mask, as a first start from a shell would.
func withUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s has mode %04o, want %04o", filepath.Base(path), got, want)
	}
}

func TestOpenMakesTheDatabaseAndItsWALOwnerOnlyUnderUmask022(t *testing.T) {
	withUmask(t, 0o022)
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "agentos.db")
	s, err := Open(context.Background(), path, defaultShapes(t, nil), Options{})
	ok(t, err)
	defer s.Close()
	_, err = s.Create(context.Background(), "note", map[string]any{"name": "secret-ish"}, nil)
	ok(t, err)
	wantMode(t, dir, 0o700)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		wantMode(t, p, 0o600)
	}
}

func TestOpenTightensALooseExistingDatabase(t *testing.T) {
	withUmask(t, 0o022)
	ctx := context.Background()
	dir := t.TempDir()
	ok(t, os.Chmod(dir, 0o755))
	path := filepath.Join(dir, "agentos.db")
	reg := defaultShapes(t, nil)
	s, err := Open(ctx, path, reg, Options{})
	ok(t, err)
	_, err = s.Create(ctx, "note", map[string]any{"name": "kept"}, nil)
	ok(t, err)
	// Loosen all three while the first store holds them (as a restore or a
	// careless copy would leave them), then open the same database again.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		ok(t, os.Chmod(p, 0o644))
	}
	again, err := Open(ctx, path, reg, Options{})
	ok(t, err)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		wantMode(t, p, 0o600)
	}
	ok(t, again.Close())
	ok(t, s.Close())

	// A closed database restored as 0644 is tightened on the next open.
	ok(t, os.Chmod(path, 0o644))
	s, err = Open(ctx, path, reg, Options{})
	ok(t, err)
	defer s.Close()
	wantMode(t, path, 0o600)
	page, err := s.Query(ctx, Query{Shape: "note"})
	if err != nil || len(page.Nodes) != 1 {
		t.Fatalf("the tightened database lost its node: %+v %v", page, err)
	}
	// The folder was there before graph: its mode is its owner's business.
	wantMode(t, dir, 0o755)
}
