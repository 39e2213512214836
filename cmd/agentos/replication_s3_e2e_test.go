package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// An S3-compatible replica (gofakes3 in this process, on loopback) with
// the keys in the vault: every request the engine signs names the vault's
// key id, and `agentos restore` (keys from the AWS variables) rebuilds the
// graph from the bucket.
func TestS3ReplicaWithTheVaultsKeys(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("graphs"); err != nil {
		t.Fatal(err)
	}
	faker := gofakes3.New(backend).Server()
	var mu sync.Mutex
	keyIDs := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		id := "(unsigned)"
		if _, rest, ok := strings.Cut(auth, "Credential="); ok {
			id, _, _ = strings.Cut(rest, "/")
		}
		mu.Lock()
		keyIDs[id]++
		mu.Unlock()
		faker.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	url := "s3://graphs/laptop?endpoint=" + srv.URL + "&region=us-east-1"

	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	home := testkit.Home(t)
	d := startDaemon(t, home)
	c := d.client(t)
	call(t, c, wire.MethodSecretsSet, map[string]any{"name": "aws_access_key_id", "value": "AKIDFROMVAULT"}, nil)
	call(t, c, wire.MethodSecretsSet, map[string]any{"name": "aws_secret_access_key", "value": "vault-secret"}, nil)
	d.stop()
	cfg := "replicate:\n  url: \"" + url + "\"\n  interval: 200ms\n"
	if err := os.WriteFile(filepath.Join(home, "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d = startDaemon(t, home)
	c = d.client(t)
	var ids []string
	for i := range 20 {
		var n struct{ ID string }
		call(t, c, wire.MethodCreate, map[string]any{"shape": "note", "fields": map[string]any{"title": "to S3 " + string(rune('a'+i))}}, &n)
		ids = append(ids, n.ID)
	}
	waitReplicated(t, c)
	d.stop()
	mu.Lock()
	if keyIDs["AKIDFROMVAULT"] == 0 || len(keyIDs) != 1 {
		t.Errorf("the key ids the engine's requests named: %v, want the vault's alone", keyIDs)
	}
	mu.Unlock()

	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFORRESTORE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "restore-secret")
	home2 := testkit.Home(t)
	if out := agentos(t, home2, "restore", url); out.code != 0 || !strings.Contains(out.stdout, "ok") {
		t.Fatalf("agentos restore from S3: %+v", out)
	}
	mu.Lock()
	if keyIDs["AKIDFORRESTORE"] == 0 {
		t.Errorf("the restore did not sign with the AWS variables' key: %v", keyIDs)
	}
	mu.Unlock()
	d2 := startDaemon(t, home2)
	got := noteIDs(t, d2.client(t))
	for _, id := range ids {
		if !got[id] {
			t.Errorf("note %s is not in the graph restored from S3", id)
		}
	}
}
