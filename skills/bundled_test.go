package skills

import (
	"context"
	"testing"

	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/sdk"
)

func TestEveryBundledSkillIsValid(t *testing.T) {
	python, err := broker.FindPython(context.Background(), "")
	if err != nil {
		t.Skip("no python3:", err)
	}
	sdkDir, err := sdk.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir, err := Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	again, err := Extract(dir + "/..")
	if err != nil || again != dir {
		t.Fatalf("a second extract should reuse %s, got %s (%v)", dir, again, err)
	}
	found := broker.NewDiscoverer(python, sdkDir).Discover(context.Background(), []broker.Root{{Dir: dir, Source: "bundled"}})
	if len(found) == 0 {
		t.Fatal("no bundled skills")
	}
	for _, s := range found {
		if s.Invalid != "" || len(s.Tools) == 0 || len(s.Warnings) > 0 {
			t.Errorf("bundled skill %s: invalid %q, %d tools, warnings %v", s.ID, s.Invalid, len(s.Tools), s.Warnings)
		}
	}
}
