package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/internal/testkit"
	"github.com/agentos/agentos/shapes"
	"github.com/agentos/agentos/vault"
)

// replicatedHome is a home whose config.yaml replicates to rawURL.
func replicatedHome(t *testing.T, rawURL string) string {
	t.Helper()
	home := testkit.Home(t)
	cfg := fmt.Sprintf("replicate:\n  url: %q\n  interval: 200ms\n", rawURL)
	if err := os.WriteFile(filepath.Join(home, "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}

// replicaStatus is system.status's replica.
func replicaStatus(t *testing.T, c *wire.Client) wire.Replica {
	t.Helper()
	var st wire.Status
	call(t, c, wire.MethodStatus, nil, &st)
	if st.Replica == nil {
		t.Fatalf("status has no replica: %+v", st)
	}
	return *st.Replica
}

// waitReplicated waits until the replica holds every write made until now.
func waitReplicated(t *testing.T, c *wire.Client) wire.Replica {
	t.Helper()
	since := time.Now()
	deadline := since.Add(30 * time.Second)
	for {
		r := replicaStatus(t, c)
		if r.SyncedAt.After(since) && r.Error == "" {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica never caught up: %+v", r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// noteIDs lists the notes of the engine c serves.
func noteIDs(t *testing.T, c *wire.Client) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	cursor := ""
	for {
		var page struct {
			Nodes  []struct{ ID string }
			Cursor string
		}
		call(t, c, wire.MethodRead, map[string]any{"shape": "note", "limit": 1000, "cursor": cursor}, &page)
		for _, n := range page.Nodes {
			ids[n.ID] = true
		}
		if page.Cursor == "" {
			return ids
		}
		cursor = page.Cursor
	}
}

// The engine replicates to a file replica while it runs; `agentos status`
// shows it; after the engine is killed, `agentos restore URL` builds a new
// home's graph (integrity-checked, mode 0600) where a fresh engine finds
// every node and search hit; a second restore there is refused.
func TestReplicationToAFileThenRestore(t *testing.T) {
	dir := t.TempDir()
	url := "file://" + dir
	home := replicatedHome(t, url)
	d, bridgeURL := startDaemonBridge(t, home)
	c := d.client(t)
	var ids []string
	var asOf time.Time
	for i := range 30 {
		if i == 10 { // the first ten, then a moment to restore to
			waitReplicated(t, c)
			time.Sleep(1100 * time.Millisecond)
			asOf = time.Now().UTC().Truncate(time.Second)
			time.Sleep(1100 * time.Millisecond)
		}
		var n struct{ ID string }
		call(t, c, wire.MethodCreate, map[string]any{"shape": "note", "fields": map[string]any{"title": fmt.Sprintf("Replicated %d", i), "content": "heron sightings"}}, &n)
		ids = append(ids, n.ID)
	}
	r := waitReplicated(t, c)
	if r.URL != url || r.Replicated == "" || r.Replicated != r.Local {
		t.Fatalf("replica status: %+v", r)
	}
	if out := agentos(t, home, "status"); out.code != 0 || !strings.Contains(out.stdout, "replica") || !strings.Contains(out.stdout, url+": at "+r.Replicated) {
		t.Errorf("agentos status: %+v", out)
	}
	resp, err := http.Get(bridgeURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "\nagentos_replica_failing 0\n") || !strings.Contains(string(metrics), "\nagentos_replica_lag_seconds ") {
		t.Errorf("/metrics has no replica gauges:\n%s", metrics)
	}
	d.kill()

	home2 := testkit.Home(t)
	out := agentos(t, home2, "restore", url)
	if out.code != 0 || !strings.Contains(out.stdout, "integrity") || !strings.Contains(out.stdout, "ok") {
		t.Fatalf("agentos restore: %+v", out)
	}
	db := wire.PathsFor(home2).DB
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the restored database: %v %v", fi, err)
	}
	if di, _ := os.Stat(filepath.Dir(db)); di.Mode().Perm() != 0o700 {
		t.Errorf("data/ is %v", di.Mode().Perm())
	}
	if again := agentos(t, home2, "restore", url); again.code == 0 || !strings.Contains(again.stderr, "already there") {
		t.Errorf("a restore over a database: %+v", again)
	}
	// As of a moment: the first ten notes only.
	home3 := testkit.Home(t)
	if out := agentos(t, home3, "restore", url, "--timestamp", asOf.Format(time.RFC3339)); out.code != 0 || !strings.Contains(out.stdout, "as of") {
		t.Fatalf("agentos restore --timestamp: %+v", out)
	}
	d3 := startDaemon(t, home3)
	if got := noteIDs(t, d3.client(t)); len(got) != 10 || !got[ids[0]] || !got[ids[9]] || got[ids[10]] {
		t.Errorf("restored as of %s: %d notes, want the first 10", asOf, len(got))
	}
	d3.stop()
	if out := agentos(t, testkit.Home(t), "restore", url, "--timestamp", "yesterday"); out.code != 64 {
		t.Errorf("a --timestamp that is not RFC 3339: %+v", out)
	}

	d2 := startDaemon(t, home2)
	c2 := d2.client(t)
	got := noteIDs(t, c2)
	for _, id := range ids {
		if !got[id] {
			t.Errorf("note %s is not in the restored home", id)
		}
	}
	var hits struct{ Hits []json.RawMessage }
	call(t, c2, wire.MethodSearch, map[string]any{"query": "heron", "limit": 100}, &hits)
	if len(hits.Hits) != len(ids) {
		t.Errorf("search in the restored home: %d hits, want %d", len(hits.Hits), len(ids))
	}
}

// kill -9 during an ingest, at random moments: a restore into a new home
// has every write acknowledged more than a couple of sync intervals before
// the kill, and passes the integrity check.
func TestReplicaKeepsAcknowledgedWritesThroughKill9(t *testing.T) {
	dir := t.TempDir()
	url := "file://" + dir
	home := replicatedHome(t, url)
	var acked []string
	var ackedAt []time.Time
	for round := range 3 {
		d := startDaemon(t, home)
		c := d.client(t)
		var mu sync.Mutex
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var n struct{ ID string }
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := c.Call(ctx, wire.MethodCreate, map[string]any{"shape": "note", "fields": map[string]any{"title": fmt.Sprintf("round %d item %d", round, i)}}, &n)
				cancel()
				if err != nil {
					return // the engine was killed
				}
				mu.Lock()
				acked, ackedAt = append(acked, n.ID), append(ackedAt, time.Now())
				mu.Unlock()
			}
		}()
		time.Sleep(time.Duration(1500+rand.IntN(2500)) * time.Millisecond)
		killed := time.Now()
		d.kill()
		close(stop)
		<-done

		home2 := testkit.Home(t)
		out := agentos(t, home2, "restore", url)
		if out.code != 0 || !strings.Contains(out.stdout, "ok") {
			t.Fatalf("round %d: agentos restore: %+v", round, out)
		}
		d2 := startDaemon(t, home2)
		got := noteIDs(t, d2.client(t))
		d2.stop()
		mu.Lock()
		missing, late := 0, 0
		for i, id := range acked {
			if got[id] {
				continue
			}
			if killed.Sub(ackedAt[i]) > 2*time.Second {
				missing++
				t.Errorf("round %d: note %s, acknowledged %s before the kill, is not in the replica", round, id, killed.Sub(ackedAt[i]).Round(time.Millisecond))
			} else {
				late++
			}
		}
		t.Logf("round %d: %d notes acknowledged in all, %d restored, %d of the last 2 s not yet shipped", round, len(acked), len(got), late)
		mu.Unlock()
		if missing > 0 {
			t.FailNow()
		}
	}
}

// A replica that cannot be reached: the engine starts, serves reads and
// writes, and status says the replica is failing and why.
func TestUnreachableReplicaKeepsTheEngineServing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	home := replicatedHome(t, "s3://graphs/laptop?endpoint=http://"+addr+"&region=us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	d := startDaemon(t, home)
	c := d.client(t)
	var n struct{ ID string }
	call(t, c, wire.MethodCreate, map[string]any{"shape": "note", "fields": map[string]any{"title": "still served"}}, &n)
	deadline := time.Now().Add(90 * time.Second)
	var r wire.Replica
	for r = replicaStatus(t, c); r.Error == ""; r = replicaStatus(t, c) {
		if time.Now().After(deadline) {
			t.Fatalf("status never showed the replica failing: %+v", r)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(r.Error, "connection refused") || r.LagSec <= 0 {
		t.Errorf("replica status: %+v", r)
	}
	out := agentos(t, home, "status")
	if out.code != 0 || !strings.Contains(out.stdout, "FAILING") {
		t.Errorf("agentos status with a failing replica: %+v", out)
	}
	var got struct{ ID string }
	call(t, c, wire.MethodRead, map[string]any{"id": n.ID}, &got)
	if got.ID != n.ID {
		t.Errorf("read while the replica fails: %+v", got)
	}
}

// The two-machine story: the secrets replicate sealed, the key does not.
// A restore says plainly that the secrets need the key; export-key on the
// first home and import-key on the second (a wrong passphrase refused,
// nothing changed) make them open there.
func TestVaultKeyTravelsApartFromTheReplica(t *testing.T) {
	dir := t.TempDir()
	url := "file://" + dir
	home := replicatedHome(t, url)
	d := startDaemon(t, home)
	c := d.client(t)
	call(t, c, wire.MethodSecretsSet, map[string]any{"name": "openai", "value": "sk-from-the-laptop"}, nil)
	waitReplicated(t, c)
	d.stop()

	exported := filepath.Join(t.TempDir(), "laptop.key")
	pass := "a long passphrase\n"
	if out := agentosStdin(t, home, pass, "secrets", "export-key", exported); out.code != 0 {
		t.Fatalf("export-key: %+v", out)
	}
	if out := agentosStdin(t, home, pass, "secrets", "export-key", exported); out.code == 0 {
		t.Errorf("export-key over an existing file: %+v", out)
	}

	home2 := testkit.Home(t)
	out := agentos(t, home2, "restore", url)
	if out.code != 0 || !strings.Contains(out.stdout, "1, which cannot be decrypted: this home has no vault key") || !strings.Contains(out.stdout, "import-key") {
		t.Fatalf("restore without the key: %+v", out)
	}
	if out := agentosStdin(t, home2, "not the passphrase\n", "secrets", "import-key", exported); out.code == 0 || !strings.Contains(out.stderr, "passphrase does not open") {
		t.Errorf("import-key with a wrong passphrase: %+v", out)
	}
	if _, err := os.Stat(filepath.Join(home2, "vault.key")); !os.IsNotExist(err) {
		t.Fatalf("a refused import left a key: %v", err)
	}
	if out := agentosStdin(t, home2, pass, "secrets", "import-key", exported); out.code != 0 {
		t.Fatalf("import-key: %+v", out)
	}
	v, err := vault.Open(filepath.Join(home2, "vault.key"))
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := shapes.Load()
	st, err := graph.OpenReadOnly(context.Background(), wire.PathsFor(home2).DB, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	nonce, ct, err := st.GetSecret(context.Background(), "openai")
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := v.Unseal("openai", nonce, ct); err != nil || string(pt) != "sk-from-the-laptop" {
		t.Fatalf("the secret on the second home: %q %v", pt, err)
	}
}
