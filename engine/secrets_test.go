package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/shapes"
)

// syncBuffer is a log sink tests can read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type secretsEnv struct {
	srv   *Server
	c     *wire.Client
	home  string
	db    string
	log   *syncBuffer
	store *graph.Store
}

// secretsServer is testServer with a state directory (the vault key lives
// there) and a log the test can read. The secrets.* methods are registered
// here too, so the tests run whether or not the method table lists them.
func secretsServer(t *testing.T) *secretsEnv {
	t.Helper()
	home, err := os.MkdirTemp("", "agsec")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	reg, _ := shapes.Load()
	ctx := context.Background()
	bus := NewBus(1024)
	db := filepath.Join(home, "data", "agentos.db")
	store, err := graph.Open(ctx, db, reg, graph.Options{OnChange: bus.PublishGraphChange})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := newServer(serverDeps{store: store, shapes: newShapeSet(reg, store, "", log), bus: bus, log: log}, ServerOptions{Home: home})
	for _, m := range srv.methodsSecrets() {
		srv.methods[m.name] = m
	}
	checkVault(home, log)
	ln, err := net.Listen("unix", filepath.Join(home, "s"))
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ctx, ln)
	t.Cleanup(func() { ln.Close(); srv.Shutdown(ctx) })
	c, err := wire.Dial(ctx, filepath.Join(home, "s"), wire.ClientOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &secretsEnv{srv: srv, c: c, home: home, db: db, log: logs, store: store}
}

func secretsWantKind(t *testing.T, err error, kind wire.Kind, inMsg string) {
	t.Helper()
	var ee *wire.Error
	if !errors.As(err, &ee) {
		t.Fatalf("got %v, want an engine error of kind %s", err, kind)
	}
	if ee.Kind != kind || !strings.Contains(ee.Message, inMsg) {
		t.Fatalf("got %s error %q, want %s containing %q", ee.Kind, ee.Message, kind, inMsg)
	}
}

const testSecretValue = "sk-PLAINTEXT-9f8e7d6c5b4a"

func TestSecretsSetListDeleteAndTheValueStaysInside(t *testing.T) {
	env := secretsServer(t)
	ctx := context.Background()

	if fi, err := os.Stat(filepath.Join(env.home, "vault.key")); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
		t.Fatalf("checkVault did not create a private 32-byte key: %v %v", fi, err)
	}

	// The subscriber appends under a lock rather than sending on a channel
	// the test would later close: the client's reader may still deliver an
	// event after the test is done waiting, and a send on a closed channel
	// races (and panics).
	var evMu sync.Mutex
	var events []wire.Event
	if _, err := env.c.Subscribe(ctx, -1, func(ev wire.Event) {
		evMu.Lock()
		events = append(events, ev)
		evMu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}

	var set graph.SecretInfo
	if err := env.c.Call(ctx, "secrets.set", map[string]string{"name": "openai", "value": testSecretValue}, &set); err != nil {
		t.Fatal(err)
	}
	if set.Name != "openai" || set.UpdatedAt.IsZero() || !set.CreatedAt.Equal(set.UpdatedAt) {
		t.Fatalf("secrets.set answered %+v", set)
	}
	got, err := env.srv.secretValue(ctx, "openai")
	if err != nil || got != testSecretValue {
		t.Fatalf("secretValue = %q, %v", got, err)
	}

	// Replacing keeps created_at.
	time.Sleep(3 * time.Millisecond)
	var again graph.SecretInfo
	if err := env.c.Call(ctx, "secrets.set", map[string]string{"name": "openai", "value": testSecretValue + "-2"}, &again); err != nil {
		t.Fatal(err)
	}
	if !again.CreatedAt.Equal(set.CreatedAt) || !again.UpdatedAt.After(set.UpdatedAt) {
		t.Fatalf("replace: %+v after %+v", again, set)
	}
	if got, _ := env.srv.secretValue(ctx, "openai"); got != testSecretValue+"-2" {
		t.Fatalf("after replace secretValue = %q", got)
	}

	var raw json.RawMessage
	if err := env.c.Call(ctx, "secrets.list", nil, &raw); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Secrets []map[string]any `json:"secrets"`
	}
	json.Unmarshal(raw, &list)
	if len(list.Secrets) != 1 || list.Secrets[0]["name"] != "openai" || len(list.Secrets[0]) != 3 {
		t.Fatalf("secrets.list: %s", raw)
	}
	if bytes.Contains(raw, []byte("PLAINTEXT")) {
		t.Fatalf("secrets.list returned a value: %s", raw)
	}

	// Mistakes in the params never echo the value.
	for _, params := range []string{
		`{"name":"openai","value":"` + testSecretValue + `","extra":1}`,
		`{"name":"openai","valeu":"` + testSecretValue + `"}`,
		`{"name":"` + testSecretValue + `!","value":"` + testSecretValue + `"}`,
		`{"name":"openai","value":["` + testSecretValue + `"]}`,
		`{"name":"openai","value":{"v":"` + testSecretValue + `"}}`,
		`{"name":"openai","value":""}`,
	} {
		err := env.c.Call(ctx, "secrets.set", json.RawMessage(params), nil)
		secretsWantKind(t, err, wire.KindInvalid, "secrets.set")
		if strings.Contains(err.Error(), "PLAINTEXT") {
			t.Fatalf("an error echoes the value: %v", err)
		}
	}
	secretsWantKind(t, env.c.Call(ctx, "secrets.delete", map[string]string{"name": "../etc"}, nil), wire.KindInvalid, "not a valid secret name")

	if err := env.c.Call(ctx, "secrets.delete", map[string]string{"name": "openai"}, nil); err != nil {
		t.Fatal(err)
	}
	secretsWantKind(t, env.c.Call(ctx, "secrets.delete", map[string]string{"name": "openai"}, nil), wire.KindNotFound, `secret "openai" is not set`)
	if err := env.c.Call(ctx, "secrets.list", nil, &raw); err != nil || !strings.Contains(string(raw), `"secrets":[]`) {
		t.Fatalf("list after delete: %s %v", raw, err)
	}

	// Nothing the engine published or logged holds the value.
	if err := env.c.Call(ctx, "system.ping", nil, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	evMu.Lock()
	seen := slices.Clone(events)
	evMu.Unlock()
	var sawSet bool
	for _, ev := range seen {
		b, _ := json.Marshal(ev)
		if bytes.Contains(b, []byte("PLAINTEXT")) {
			t.Fatalf("an event carries the value: %s", b)
		}
		if ev.Type == wire.EventGraphChanged {
			t.Fatalf("a secret write published a graph event: %s", b)
		}
		sawSet = sawSet || ev.Method == "secrets.set"
	}
	if !sawSet {
		t.Fatal("secrets.set emitted no started/completed events")
	}
	if strings.Contains(env.log.String(), "PLAINTEXT") {
		t.Fatalf("the log holds the value:\n%s", env.log.String())
	}
}

func TestSecretsAreEncryptedInTheDatabaseFile(t *testing.T) {
	env := secretsServer(t)
	ctx := context.Background()
	if err := env.c.Call(ctx, "secrets.set", map[string]string{"name": "db", "value": testSecretValue}, nil); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(env.db + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(testSecretValue)) || bytes.Contains(b, []byte("PLAINTEXT")) {
			t.Fatalf("%s holds the plaintext", env.db+suffix)
		}
	}
	nonce, ct, err := env.store.GetSecret(ctx, "db")
	if err != nil || len(nonce) != 24 || len(ct) != len(testSecretValue)+16 {
		t.Fatalf("stored row: nonce %d bytes, ciphertext %d bytes, %v", len(nonce), len(ct), err)
	}
}

func TestSecretValueFailsAsUnavailableSoResolutionCanFallBack(t *testing.T) {
	env := secretsServer(t)
	ctx := context.Background()

	_, err := env.srv.secretValue(ctx, "anthropic")
	secretsWantKind(t, err, wire.KindUnavailable, "secret anthropic is not set; `agentos secrets set anthropic`")

	if err := env.c.Call(ctx, "secrets.set", map[string]string{"name": "anthropic", "value": testSecretValue}, nil); err != nil {
		t.Fatal(err)
	}

	// The skill op reads it through the same path.
	ops := &skillOps{secret: env.srv.secretValue}
	res, err := ops.secretGet(ctx, json.RawMessage(`{"name":"anthropic"}`))
	if err != nil || res != testSecretValue {
		t.Fatalf("secrets.get op = %v, %v", res, err)
	}
	_, err = ops.secretGet(ctx, json.RawMessage(`{"name":"anthropic","x":1}`))
	secretsWantKind(t, err, wire.KindInvalid, `unknown param "x"`)

	// Another key (a lost vault.key replaced by a new one): a clear error,
	// never the value or garbage.
	key := filepath.Join(env.home, "vault.key")
	if err := os.Rename(key, key+".old"); err != nil {
		t.Fatal(err)
	}
	_, err = env.srv.secretValue(ctx, "anthropic") // makes a new key
	secretsWantKind(t, err, wire.KindUnavailable, "does not match the key it was stored with")
	secretsWantKind(t, err, wire.KindUnavailable, "agentos secrets set anthropic")
	if strings.Contains(err.Error(), "PLAINTEXT") {
		t.Fatal("the error carries the value")
	}

	// Putting the old key back works again without a restart.
	if err := os.Rename(key+".old", key); err != nil {
		t.Fatal(err)
	}
	if got, err := env.srv.secretValue(ctx, "anthropic"); err != nil || got != testSecretValue {
		t.Fatalf("with the key put back: %q, %v", got, err)
	}

	// An exposed key is refused with what to do, for reads and writes.
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = env.srv.secretValue(ctx, "anthropic")
	secretsWantKind(t, err, wire.KindUnavailable, "chmod 600 "+key)
	err = env.c.Call(ctx, "secrets.set", map[string]string{"name": "anthropic", "value": "new"}, nil)
	secretsWantKind(t, err, wire.KindUnavailable, "chmod 600 "+key)
	os.Chmod(key, 0o600)

	// A row moved under another name does not open.
	nonce, ct, _ := env.store.GetSecret(ctx, "anthropic")
	if err := env.store.PutSecret(ctx, "stolen", nonce, ct); err != nil {
		t.Fatal(err)
	}
	_, err = env.srv.secretValue(ctx, "stolen")
	secretsWantKind(t, err, wire.KindUnavailable, `cannot decrypt secret "stolen"`)
}

func TestSecretMethodsHaveSchemas(t *testing.T) {
	env := secretsServer(t)
	for _, m := range env.srv.methodsSecrets() {
		var schema map[string]any
		if err := json.Unmarshal(m.params, &schema); err != nil || schema["type"] != "object" || m.summary == "" {
			t.Fatalf("%s: schema %s: %v", m.name, m.params, err)
		}
	}
}
