package agents

import (
	"sync"
	"time"
)

// Missions decides when each enabled agent's mission runs: at once when it
// is enabled, then Every after the last run started, and never while a run
// of it is still going (a due run waits for it to end).
type Missions struct {
	mu      sync.Mutex
	last    map[string]time.Time
	running map[string]bool
}

// Due is the agents of l with a mission that enabled says is on and that
// should start at now; each is marked running until Done.
func (m *Missions) Due(l Listing, enabled func(name string) bool, now time.Time) []*Agent {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		m.last, m.running = map[string]time.Time{}, map[string]bool{}
	}
	var due []*Agent
	for _, a := range l.Agents {
		if a.Mission == "" || a.Every <= 0 || !enabled(a.Name) || m.running[a.Name] {
			continue
		}
		if last, ok := m.last[a.Name]; ok && now.Sub(last) < a.Every {
			continue
		}
		m.last[a.Name], m.running[a.Name] = now, true
		due = append(due, a)
	}
	return due
}

// Done records that name's run ended.
func (m *Missions) Done(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.running, name)
}

// Forget drops what is known of name's schedule (it was disabled): enabled
// again, its mission runs at once.
func (m *Missions) Forget(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.last, name)
}
