package engine

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// auditLog appends one JSON line per sideband op a skill made
// (logs/engine-io.jsonl, DESIGN §2): what, who, whether it was allowed.
type auditLog struct {
	mu sync.Mutex
	f  *os.File
}

// auditRecord is one line of the audit log. It never holds op params or
// results: those may carry secrets.
type auditRecord struct {
	At      time.Time `json:"at"`
	Skill   string    `json:"skill"`
	Tool    string    `json:"tool"`
	CallID  string    `json:"call_id"`
	Op      string    `json:"op"`
	Scope   string    `json:"scope,omitempty"`
	Allowed bool      `json:"allowed"`
	MS      float64   `json:"ms"`
	Error   string    `json:"error,omitempty"`
}

func openAuditLog(path string) (*auditLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	return &auditLog{f: f}, nil
}

func (a *auditLog) write(r auditRecord) {
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.f.Write(append(b, '\n'))
}

func (a *auditLog) Close() error { return a.f.Close() }
