package agents

import (
	"testing"
	"time"
)

func TestMissionsRunOnScheduleAndNeverOverlap(t *testing.T) {
	l := Listing{Agents: []*Agent{
		{Name: "watcher", Mission: "check", Every: time.Minute},
		{Name: "plain"},
		{Name: "off", Mission: "check", Every: time.Minute},
	}}
	on := func(name string) bool { return name != "off" }
	var m Missions
	t0 := time.Unix(1000, 0)
	names := func(as []*Agent) (out []string) {
		for _, a := range as {
			out = append(out, a.Name)
		}
		return out
	}
	if got := names(m.Due(l, on, t0)); len(got) != 1 || got[0] != "watcher" {
		t.Fatalf("at enable: %v", got)
	}
	if got := m.Due(l, on, t0.Add(2*time.Minute)); len(got) != 0 {
		t.Fatalf("due while the last run still goes: %v", names(got))
	}
	m.Done("watcher")
	if got := m.Due(l, on, t0.Add(2*time.Minute)); len(got) != 1 {
		t.Fatalf("after the run ended, overdue: %v", names(got))
	}
	m.Done("watcher")
	if got := m.Due(l, on, t0.Add(2*time.Minute+30*time.Second)); len(got) != 0 {
		t.Fatalf("before every has passed: %v", names(got))
	}
	m.Forget("watcher")
	if got := m.Due(l, on, t0.Add(2*time.Minute+31*time.Second)); len(got) != 1 {
		t.Fatalf("enabled again: %v", names(got))
	}
}
