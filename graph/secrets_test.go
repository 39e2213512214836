package graph

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

func TestSecretsCRUD(t *testing.T) {
	var events []ChangeEvent
	s := openTest(t, nil, Options{OnChange: func(ev ChangeEvent) { events = append(events, ev) }})
	ctx := context.Background()

	if list, err := s.ListSecrets(ctx); err != nil || len(list) != 0 || list == nil {
		t.Fatalf("empty vault: %v, %v (want an empty, non-nil list)", list, err)
	}
	if _, _, err := s.GetSecret(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	if err := s.DeleteSecret(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
	if err := s.PutSecret(ctx, "", []byte{1}, []byte{2}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("put without a name: %v", err)
	}

	ok(t, s.PutSecret(ctx, "b", []byte("nonce-b"), []byte("sealed-b")))
	ok(t, s.PutSecret(ctx, "a", []byte("nonce-a"), []byte{0, 1, 2, 0xff}))
	nonce, ct, err := s.GetSecret(ctx, "a")
	ok(t, err)
	if string(nonce) != "nonce-a" || !bytes.Equal(ct, []byte{0, 1, 2, 0xff}) {
		t.Fatalf("get a: %q %v", nonce, ct)
	}
	first, err := s.StatSecret(ctx, "a")
	ok(t, err)
	if first.Name != "a" || first.CreatedAt.IsZero() || !first.CreatedAt.Equal(first.UpdatedAt) {
		t.Fatalf("stat a: %+v", first)
	}

	time.Sleep(3 * time.Millisecond)
	ok(t, s.PutSecret(ctx, "a", []byte("nonce-2"), []byte("sealed-2")))
	nonce, ct, err = s.GetSecret(ctx, "a")
	ok(t, err)
	if string(nonce) != "nonce-2" || string(ct) != "sealed-2" {
		t.Fatalf("replace a: %q %q", nonce, ct)
	}
	list, err := s.ListSecrets(ctx)
	ok(t, err)
	if len(list) != 2 || list[0].Name != "a" || list[1].Name != "b" {
		t.Fatalf("list: %+v", list)
	}
	if !list[0].CreatedAt.Equal(first.CreatedAt) || !list[0].UpdatedAt.After(first.UpdatedAt) {
		t.Fatalf("a replaced secret keeps created_at and moves updated_at: %+v then %+v", first, list[0])
	}

	ok(t, s.DeleteSecret(ctx, "a"))
	if _, _, err := s.GetSecret(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if _, err := s.StatSecret(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stat deleted: %v", err)
	}
	list, err = s.ListSecrets(ctx)
	ok(t, err)
	if len(list) != 1 || list[0].Name != "b" {
		t.Fatalf("list after delete: %+v", list)
	}

	// Secrets are not graph data: no change records, no graph events.
	if len(events) != 0 {
		t.Fatalf("secret writes published graph events: %+v", events)
	}
	var changes int64
	ok(t, s.reader(ctx).query("SELECT count(*) FROM changes", nil, 1, func(r []any) error { changes = r[0].(int64); return nil }))
	if changes != 0 {
		t.Fatalf("secret writes left %d change records", changes)
	}
}

func TestSecretsSurviveReopenAndRefuseReadOnly(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil, Options{})
	ok(t, s.PutSecret(ctx, "k", []byte("n"), []byte("c")))
	path := s.Path()
	ok(t, s.Close())
	if err := s.PutSecret(ctx, "k", []byte("n"), []byte("c")); err == nil {
		t.Fatal("put after close succeeded")
	}

	ro, err := OpenReadOnly(ctx, path, defaultShapes(t, nil))
	ok(t, err)
	defer ro.Close()
	if _, ct, err := ro.GetSecret(ctx, "k"); err != nil || string(ct) != "c" {
		t.Fatalf("read-only get: %q %v", ct, err)
	}
	if err := ro.PutSecret(ctx, "k", []byte("n"), []byte("c")); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only put: %v", err)
	}
	if err := ro.DeleteSecret(ctx, "k"); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only delete: %v", err)
	}
}
