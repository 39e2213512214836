package broker

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestWorkerThatDiesWithoutAResultIsSkillFailedWithItsExitAndStderr(t *testing.T) {
	t.Parallel()
	cases := []struct {
		fn      string
		message string // in RunError.Message
		stderr  string // in RunError.Stderr
	}{
		{"exit3", "exited with status 3 without sending a result", "about to exit 3"},
		{"os_exit", "exited with status 7", ""},
		{"no_result", "exited with status 0 without sending a result", ""},
		{"raise", "exited with status 1", "ValueError: boom"},
		{"segfault", "crashed: killed by SIGSEGV", ""},
	}
	r := newTestRunner(t, nil)
	for _, tc := range cases {
		t.Run(tc.fn, func(t *testing.T) {
			t.Parallel()
			_, err := r.Run(context.Background(), fixtureCall(t, tc.fn, nil), &recorder{})
			re := runError(t, err, KindSkillFailed)
			if !strings.Contains(re.Message, tc.message) {
				t.Errorf("message = %q, want it to contain %q", re.Message, tc.message)
			}
			if !strings.Contains(re.Stderr, tc.stderr) {
				t.Errorf("stderr tail = %q, want it to contain %q", re.Stderr, tc.stderr)
			}
		})
	}
}

func TestUncaughtExceptionShowsItsLastStderrLineInTheError(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	_, err := r.Run(context.Background(), fixtureCall(t, "raise", nil), nil)
	runError(t, err, KindSkillFailed)
	if !strings.HasSuffix(err.Error(), "(stderr: ValueError: boom)") {
		t.Errorf("Error() = %q, want the stderr hint", err)
	}
}

func TestWorkerReportedErrorsKeepTheirKindAndTraceback(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		KindNotFound:    KindNotFound,
		KindInvalid:     KindInvalid,
		KindSkillFailed: KindSkillFailed,
		KindUnavailable: KindUnavailable,
		"timeout":       KindSkillFailed, // a worker cannot claim the engine's own kinds
		"whatever":      KindSkillFailed,
	}
	r := newTestRunner(t, nil)
	for sent, want := range cases {
		t.Run(sent, func(t *testing.T) {
			t.Parallel()
			_, err := r.Run(context.Background(), fixtureCall(t, "report_error", map[string]string{"kind": sent}), nil)
			re := runError(t, err, want)
			if re.Message != "ValueError: bad" || re.Traceback != "Traceback: line 1" {
				t.Errorf("error = %+v", re)
			}
		})
	}
}

func TestUnknownFunctionIsNotFound(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	_, err := r.Run(context.Background(), fixtureCall(t, "no_such_function", nil), nil)
	runError(t, err, KindNotFound)
}

func TestGarbageOnStdoutKillsTheWorkerAndNamesTheLine(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	_, err := r.Run(context.Background(), fixtureCall(t, "garbage", nil), nil)
	re := runError(t, err, KindSkillFailed)
	if !strings.Contains(re.Message, `non-protocol line`) || !strings.Contains(re.Message, `"this is not json"`) {
		t.Errorf("message = %q", re.Message)
	}
	// The fixture sleeps an hour after the garbage: it must have been killed
	// (the call's timeout ending it instead would be a timeout, not skill_failed).
}

func TestResultForAnotherCallIsSkillFailed(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	_, err := r.Run(context.Background(), fixtureCall(t, "wrong_id", nil), nil)
	re := runError(t, err, KindSkillFailed)
	if !strings.Contains(re.Message, "someone-else") {
		t.Errorf("message = %q", re.Message)
	}
}

func TestStdoutFloodIsCutOffAtMaxOutput(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, func(o *RunnerOptions) { o.Limits.MaxOutput = 1 << 20 })
	for fn, want := range map[string]string{
		// One endless line of x: refused at its first byte (it cannot be an object),
		// long before the cap.
		"flood_stdout":       "non-protocol line to stdout (not a JSON object)",
		"flood_stdout_lines": "wrote more than 1048576 bytes to stdout",
	} {
		t.Run(fn, func(t *testing.T) {
			t.Parallel()
			_, err := r.Run(context.Background(), fixtureCall(t, fn, nil), &recorder{})
			re := runError(t, err, KindSkillFailed)
			if !strings.Contains(re.Message, want) {
				t.Errorf("message = %q, want %q", re.Message, want)
			}
		})
	}
}

func TestStderrFloodIsDrainedAndOnlyTheTailKept(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, func(o *RunnerOptions) { o.Limits.StderrTail = 1 << 10 })
	t.Run("call succeeds", func(t *testing.T) {
		t.Parallel()
		res, err := r.Run(context.Background(), fixtureCall(t, "flood_stderr", nil), nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(res) != `"survived"` {
			t.Errorf("result = %s", res)
		}
	})
	t.Run("failure carries the tail", func(t *testing.T) {
		t.Parallel()
		_, err := r.Run(context.Background(), fixtureCall(t, "flood_stderr", map[string]bool{"fail": true}), nil)
		re := runError(t, err, KindSkillFailed)
		if len(re.Stderr) > 1<<10 || !strings.HasSuffix(re.Stderr, "last stderr line\n") {
			t.Errorf("stderr tail has %d bytes ending %q", len(re.Stderr), re.Stderr[max(0, len(re.Stderr)-40):])
		}
	})
}

func TestMemoryBlowupIsSkillFailedMentioningMemory(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, func(o *RunnerOptions) { o.Limits.MemoryBytes = 512 << 20 })
	_, err := r.Run(context.Background(), fixtureCall(t, "alloc", nil), nil)
	re := runError(t, err, KindSkillFailed)
	if !strings.Contains(re.Message, "out of memory (limit 512 MiB)") {
		t.Errorf("message = %q", re.Message)
	}
}

func TestCPUHogIsKilledAtItsCPUTimeLimit(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, func(o *RunnerOptions) { o.Limits.CPUSeconds = 1 })
	// A wall-clock timeout far beyond the CPU limit, so that on a loaded
	// machine (1 s of CPU may take many seconds) the CPU limit still ends
	// it, and the kind tells which did.
	c := fixtureCall(t, "spin", nil)
	c.Timeout = 5 * time.Minute
	_, err := r.Run(context.Background(), c, nil)
	re := runError(t, err, KindSkillFailed)
	if !strings.Contains(re.Message, "CPU time limit of 1s") {
		t.Errorf("message = %q", re.Message)
	}
}

func TestWorkerThatClosesStdoutButLivesIsKilledAfterGrace(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	_, err := r.Run(context.Background(), fixtureCall(t, "close_stdout", nil), nil)
	re := runError(t, err, KindSkillFailed)
	if !strings.Contains(re.Message, "closed its stdout") {
		t.Errorf("message = %q", re.Message)
	}
}
