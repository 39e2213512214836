package broker

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// AuditLog appends one JSON line per sideband op a skill made
// (logs/engine-io.jsonl, DESIGN §2): what, who, whether it was allowed.
type AuditLog struct {
	mu sync.Mutex
	f  *os.File
}

// AuditRecord is one line of the audit log. It never holds op params,
// results or URLs: those may carry secrets (a key in a query).
type AuditRecord struct {
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

// OpenAuditLog opens (creating, mode 0600) the audit log at path for
// appending.
func OpenAuditLog(path string) (*AuditLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	return &AuditLog{f: f}, nil
}

// Write appends r as one line. Lines from concurrent ops never interleave.
func (a *AuditLog) Write(r AuditRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode audit record: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	return nil
}

// Close closes the file.
func (a *AuditLog) Close() error { return a.f.Close() }
