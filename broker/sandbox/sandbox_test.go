package sandbox

import (
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseModeTakesTheThreeModesOnly(t *testing.T) {
	for in, want := range map[string]Mode{"": BestEffort, "best-effort": BestEffort, "strict": Strict, "off": Off} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"Strict", "on", "none", "best_effort"} {
		if _, err := ParseMode(bad); err == nil {
			t.Errorf("ParseMode(%q) accepted", bad)
		}
	}
}

// What a machine lacks is missing under every mode; off reports every layer
// missing; only strict refuses, naming what is missing.
func TestStatusNamesMissingLayersAndStrictRefuses(t *testing.T) {
	have := []string{LayerNoNewPrivs, LayerNoCaps, LayerSeccomp, LayerLandlock}
	why := map[string]string{LayerNetNS: "no user namespaces", LayerPIDNS: "no user namespaces", LayerPids: "no cgroup"}
	be := status(BestEffort, have, why)
	if !slices.Equal(be.Layers, have) || len(be.Missing) != 3 || be.Check() != nil {
		t.Fatalf("best-effort: %+v, check %v", be, be.Check())
	}
	st := status(Strict, have, why)
	var me *MissingError
	if err := st.Check(); !errors.As(err, &me) || !strings.Contains(err.Error(), "netns") {
		t.Fatalf("strict with layers missing: %v", err)
	}
	if err := status(Strict, AllLayers, nil).Check(); err != nil {
		t.Fatalf("strict with every layer: %v", err)
	}
	off := status(Off, AllLayers, nil)
	if len(off.Layers) != 0 || len(off.Missing) != len(AllLayers) || off.Check() != nil {
		t.Fatalf("off: %+v", off)
	}
}

// The interpreter's own binary and its standard library are among the paths
// the Landlock layer lets a worker read and execute.
func TestInterpreterPathsHoldTheInterpreterAndItsStdlib(t *testing.T) {
	py, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Skip("no /usr/bin/python3")
	}
	exe, libs := InterpreterPaths(py)
	if !slices.Contains(exe, py) {
		t.Fatalf("exec paths %v lack %s", exe, py)
	}
	real, _ := filepath.EvalSymlinks(py)
	if !slices.Contains(exe, real) {
		t.Fatalf("exec paths %v lack the file %s links to", exe, real)
	}
	stdlib := slices.ContainsFunc(libs, func(p string) bool { return strings.Contains(filepath.Base(p), "python3") })
	if !stdlib {
		t.Fatalf("no python3 stdlib folder in %v", libs)
	}
}

// A flood of refusals keeps MaxRefused names and counts the rest.
func TestKeepRefusedBoundsAFlood(t *testing.T) {
	var list []string
	for i := 0; i < MaxRefused+250; i++ {
		list = KeepRefused(list, "socket(AF_INET)")
	}
	if len(list) != MaxRefused+1 || list[MaxRefused] != "250 more" {
		t.Fatalf("%d entries, last %q", len(list), list[len(list)-1])
	}
}
