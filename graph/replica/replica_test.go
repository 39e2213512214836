package replica

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/shapes"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// openGraph opens (creating) the graph of a new home's data/agentos.db.
func openGraph(t *testing.T, path string) *graph.Store {
	t.Helper()
	reg, errs := shapes.Load()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	s, err := graph.Open(context.Background(), path, reg, graph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func addNotes(t *testing.T, s *graph.Store, prefix string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		node, err := s.Create(context.Background(), "note", map[string]any{"title": fmt.Sprintf("%s %d", prefix, i), "content": "kept"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, node.ID)
	}
	return ids
}

// waitSynced waits until a sync that began after now succeeds: the replica
// then holds every write made until now.
func waitSynced(t *testing.T, rp *Replicator) Status {
	t.Helper()
	since := time.Now()
	deadline := since.Add(30 * time.Second)
	for {
		st := rp.Status()
		if st.SyncedAt.After(since) && st.Error == "" {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica never caught up: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// restoredIDs restores rawURL into a new home and lists the notes there.
func restoredIDs(t *testing.T, rawURL string, opts RestoreOptions) (map[string]bool, Restored) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "home", "data", "agentos.db")
	res, err := Restore(context.Background(), rawURL, out, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := openGraph(t, out)
	page, err := s.Query(context.Background(), graph.Query{Shape: "note", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, n := range page.Nodes {
		ids[n.ID] = true
	}
	return ids, res
}

func replicate(t *testing.T, dbPath, rawURL string, creds Credentials) *Replicator {
	t.Helper()
	rp, err := Start(context.Background(), dbPath, Options{URL: rawURL, Credentials: creds, SyncInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rp.Close(context.Background()) })
	return rp
}

// A file replica follows the graph as it is written; a restore into a new
// home has every node, passes the integrity check, is mode 0600 in a 0700
// directory, and a second restore there is refused.
func TestFileReplicaRestoresEveryNode(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "data", "agentos.db")
	s := openGraph(t, dbPath)
	before := addNotes(t, s, "before", 20)
	replicaDir := t.TempDir()
	rp := replicate(t, dbPath, "file://"+replicaDir, Credentials{})
	after := addNotes(t, s, "after", 30)
	st := waitSynced(t, rp)
	if st.URL != "file://"+replicaDir || st.Local == "" || st.Local != st.Replicated || st.Lag <= 0 {
		t.Errorf("status: %+v", st)
	}

	ids, res := restoredIDs(t, "file://"+replicaDir, RestoreOptions{})
	for _, id := range append(before, after...) {
		if !ids[id] {
			t.Errorf("node %s is not in the restored graph", id)
		}
	}
	if res.Integrity != "ok" {
		t.Errorf("integrity: %q", res.Integrity)
	}
	fi, err := os.Stat(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	di, _ := os.Stat(filepath.Dir(res.Path))
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("modes: file %v, dir %v", fi.Mode().Perm(), di.Mode().Perm())
	}
	if _, err := Restore(context.Background(), "file://"+replicaDir, res.Path, RestoreOptions{}); !errors.Is(err, ErrExists) {
		t.Errorf("a restore over a database: %v, want ErrExists", err)
	}
}

// A point-in-time restore to before a deletion brings the deleted node
// back; the latest restore does not have it.
func TestPointInTimeRestoreBringsADeletedNodeBack(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "data", "agentos.db")
	s := openGraph(t, dbPath)
	replicaDir := t.TempDir()
	rp := replicate(t, dbPath, "file://"+replicaDir, Credentials{})
	ids := addNotes(t, s, "kept", 3)
	waitSynced(t, rp)
	time.Sleep(1100 * time.Millisecond) // timestamps in the replica are to the second or finer
	beforeDelete := time.Now()
	time.Sleep(1100 * time.Millisecond)
	if _, err := s.Delete(context.Background(), ids[0]); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, rp)

	latest, _ := restoredIDs(t, "file://"+replicaDir, RestoreOptions{})
	if latest[ids[0]] || !latest[ids[1]] {
		t.Fatalf("latest restore: %v (deleted %s)", latest, ids[0])
	}
	then, res := restoredIDs(t, "file://"+replicaDir, RestoreOptions{Timestamp: beforeDelete})
	if !then[ids[0]] || !then[ids[1]] || res.Integrity != "ok" {
		t.Fatalf("restore to before the deletion: %v, integrity %q", then, res.Integrity)
	}
}

// An S3-compatible replica (gofakes3, in this process, on loopback) with
// the keys given as credentials.
func TestS3ReplicaRestoresEveryNode(t *testing.T) {
	backend := s3mem.New()
	faker := gofakes3.New(backend)
	srv := httptest.NewServer(faker.Server())
	t.Cleanup(srv.Close)
	if err := backend.CreateBucket("graphs"); err != nil {
		t.Fatal(err)
	}
	creds := Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret-test"}
	rawURL := "s3://graphs/laptop?endpoint=" + srv.URL + "&region=us-east-1"

	dbPath := filepath.Join(t.TempDir(), "data", "agentos.db")
	s := openGraph(t, dbPath)
	rp := replicate(t, dbPath, rawURL, creds)
	ids := addNotes(t, s, "s3", 25)
	waitSynced(t, rp)
	got, res := restoredIDs(t, rawURL, RestoreOptions{Credentials: creds})
	for _, id := range ids {
		if !got[id] {
			t.Errorf("node %s is not in the graph restored from S3", id)
		}
	}
	if res.Integrity != "ok" {
		t.Errorf("integrity: %q", res.Integrity)
	}
}

// A replica that cannot be reached: writes go on, status says why and
// shows a lag, and nothing is lost locally.
func TestUnreachableReplicaIsAStatusNotAFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	dbPath := filepath.Join(t.TempDir(), "data", "agentos.db")
	s := openGraph(t, dbPath)
	rp := replicate(t, dbPath, "s3://graphs/x?endpoint=http://"+addr+"&region=us-east-1", Credentials{AccessKeyID: "a", SecretAccessKey: "b"})
	addNotes(t, s, "local", 5)
	deadline := time.Now().Add(60 * time.Second)
	var st Status
	for st = rp.Status(); st.Error == ""; st = rp.Status() {
		if time.Now().After(deadline) {
			t.Fatalf("no error in status: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(st.URL, addr) || !st.SyncedAt.IsZero() || st.Lag <= 0 || st.Replicated != "" {
		t.Errorf("status of an unreachable replica: %+v", st)
	}
	if more := addNotes(t, s, "still", 3); len(more) != 3 {
		t.Fatal("writes stopped")
	}
}

// A replica whose syncs keep failing (a file replica under a path that is
// a file) says when they began, however many fail after; once they work
// again the error clears.
func TestFailingReplicaSaysWhenItBeganToFail(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(blocker, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(t.TempDir(), "data", "agentos.db")
	s := openGraph(t, dbPath)
	addNotes(t, s, "blocked", 2)
	rp := replicate(t, dbPath, "file://"+blocker+"/replica", Credentials{})
	deadline := time.Now().Add(30 * time.Second)
	var first Status
	for first = rp.Status(); first.Error == ""; first = rp.Status() {
		if time.Now().After(deadline) {
			t.Fatalf("no error: %+v", first)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // several more failed syncs, 100 ms apart
	later := rp.Status()
	if later.Error == "" || !later.ErrorAt.Equal(first.ErrorAt) || later.Lag < 500*time.Millisecond {
		t.Errorf("after more failures: %+v (first failure %v)", later, first.ErrorAt)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if st := waitSynced(t, rp); st.Error != "" || !st.ErrorAt.IsZero() {
		t.Errorf("after it works again: %+v", st)
	}
}

func TestRedactHidesCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"sftp://me:hunter2@host/path":                             "sftp://me@host/path",
		"s3://b/p?endpoint=http://x:9000&secretKey=abc&region=eu": "s3://b/p?endpoint=http://x:9000&secretKey=***&region=eu",
		"file:///var/backups/agentos":                             "file:///var/backups/agentos",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := Start(context.Background(), "/nonexistent.db", Options{URL: "ftp://x/y"}); err == nil || !strings.Contains(err.Error(), "file, s3, sftp") {
		t.Errorf("an unknown scheme: %v", err)
	}
}
