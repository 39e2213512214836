package wire

import (
	"encoding/json"
	"time"
)

// Event is one observer event (DESIGN §8).
type Event struct {
	ID         int64          `json:"id"`
	Type       string         `json:"type"` // started, completed, failed, graph.changed, skills.changed, job.progress, lagged
	At         time.Time      `json:"at"`
	Method     string         `json:"method,omitempty"`
	Capability string         `json:"capability,omitempty"`
	Skill      string         `json:"skill,omitempty"`
	Provider   string         `json:"provider,omitempty"`
	Caller     string         `json:"caller,omitempty"`
	CallID     string         `json:"call_id,omitempty"`
	LatencyMS  float64        `json:"latency_ms,omitempty"`
	Error      string         `json:"error,omitempty"`
	ErrorKind  Kind           `json:"error_kind,omitempty"`
	Op         string         `json:"op,omitempty"`
	IDs        []string       `json:"ids,omitempty"`
	Shapes     []string       `json:"shapes,omitempty"`
	Missed     int64          `json:"missed,omitempty"` // for lagged: how many events this subscriber lost (its id is the last one lost)
	Data       map[string]any `json:"data,omitempty"`
}

// Event types.
const (
	EventStarted       = "started"
	EventCompleted     = "completed"
	EventFailed        = "failed"
	EventGraphChanged  = "graph.changed"
	EventSkillsChanged = "skills.changed"
	EventJobProgress   = "job.progress"
	EventJobLog        = "job.log"        // a line a job's skill logged: level, message
	EventJobInput      = "job.input"      // a job asks its caller: request, kind, params (sent to that connection only)
	EventJobFinished   = "job.finished"   // a job ended: state, provider, latency, error
	EventAgentStep     = "agent.step"     // a step of an agent's run: run, agent, kind, turn, tool, text
	EventAgentsChanged = "agents.changed" // an agent file was added, changed or removed
	EventLagged        = "lagged"
)

// HistorySize is how many recent events the engine's bus remembers for
// replay (observer.subscribe {since}, observer.history).
const HistorySize = 4096

// Job states.
const (
	JobRunning   = "running"
	JobCompleted = "completed"
	JobFailed    = "failed"
	JobCancelled = "cancelled"
)

// Job is one invocation as jobs.get answers it: which provider ran, why, how
// far it got, how it ended. Every capability invocation and every skills.run
// is one.
type Job struct {
	ID         string          `json:"id"`
	Parent     string          `json:"parent,omitempty"` // the job whose skill made this nested call
	Capability string          `json:"capability,omitempty"`
	Skill      string          `json:"skill,omitempty"`
	Tool       string          `json:"tool,omitempty"`
	Reason     string          `json:"reason,omitempty"` // why this provider
	Attempts   []Attempt       `json:"attempts,omitempty"`
	Caller     string          `json:"caller"`
	State      string          `json:"state"`
	StartedAt  time.Time       `json:"started_at"`
	EndedAt    *time.Time      `json:"ended_at,omitempty"`
	Progress   *JobProgress    `json:"progress,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	Error      *JobError       `json:"error,omitempty"`
}

// Attempt is one provider tried for a capability.
type Attempt struct {
	Skill string `json:"skill"`
	Tool  string `json:"tool"`
	Error string `json:"error,omitempty"`
	Kind  Kind   `json:"kind,omitempty"`
}

// JobProgress is the last progress a job's skill reported.
type JobProgress struct {
	Current float64 `json:"current"`
	Total   float64 `json:"total,omitempty"`
	Message string  `json:"message,omitempty"`
	// Delta is the last streamed piece of an answer (DESIGN §13 stream: true).
	Delta string `json:"delta,omitempty"`
}

// JobError is how a job failed.
type JobError struct {
	Kind    Kind   `json:"kind"`
	Message string `json:"message"`
}

// Hello is the result of system.hello.
type Hello struct {
	Caller  string `json:"caller"`
	Version string `json:"version"`
	PID     int    `json:"pid"`
}

// Status is the result of system.status.
type Status struct {
	Version     string           `json:"version"`
	PID         int              `json:"pid"`
	StartedAt   time.Time        `json:"started_at"`
	UptimeSec   float64          `json:"uptime_s"`
	Home        string           `json:"home"`
	DBPath      string           `json:"db_path"`
	Socket      string           `json:"socket"`
	Nodes       int64            `json:"nodes"`
	Edges       int64            `json:"edges"`
	ByShape     map[string]int64 `json:"by_shape"`
	Shapes      int              `json:"shapes"`
	Skills      []string         `json:"skills"`
	JobsRunning int              `json:"jobs_running"`
	LastEventID int64            `json:"last_event_id"`
	Bridge      string           `json:"bridge,omitempty"`       // URL of the web UI and HTTP API
	BridgeError string           `json:"bridge_error,omitempty"` // why the engine serves no bridge it was meant to serve
	ShapeErrors []string         `json:"shape_errors,omitempty"` // shape files skipped, each with why
	Sandbox     *Sandbox         `json:"sandbox,omitempty"`      // how skills are confined; absent when skills cannot run
	Replica     *Replica         `json:"replica,omitempty"`      // the graph's replica, when config.yaml names one
}

// Replica is the graph's replica as status shows it (DESIGN §14).
type Replica struct {
	URL        string    `json:"url"`                  // without credentials
	Local      string    `json:"local,omitempty"`      // the graph's last transaction Litestream has seen (hex)
	Replicated string    `json:"replicated,omitempty"` // the replica's last transaction
	SyncedAt   time.Time `json:"synced_at,omitzero"`   // the replica holds every write made before this
	LagSec     float64   `json:"lag_s"`                // the newest writes it may lack are at most this old
	Error      string    `json:"error,omitempty"`      // the last sync's failure, until one succeeds
	ErrorAt    time.Time `json:"error_at,omitzero"`    // when the syncs began to fail
}

// Sandbox is the skills' sandbox (DESIGN §7.1): the mode config.yaml sets,
// the layers every call gets and the ones this machine lacks.
type Sandbox struct {
	Mode    string   `json:"mode"`
	Layers  []string `json:"layers"`
	Missing []string `json:"missing"`
}

// History is the answer of observer.history. Missed counts events after
// since that the ring no longer holds; LastID is the newest event's id.
type History struct {
	Events []Event `json:"events"`
	Missed int64   `json:"missed,omitempty"`
	LastID int64   `json:"last_id"`
}

// CallMetric is the count and latency histogram of one (kind, name,
// outcome): kind is "method" (a socket method) or "capability" (a
// capability job, by capability name or "skill:<id>" for skills.run).
type CallMetric struct {
	Kind       string   `json:"kind"`
	Name       string   `json:"name"`
	Outcome    string   `json:"outcome"` // ok or the error kind (methods); completed, failed, cancelled (capabilities)
	Count      uint64   `json:"count"`
	SumSeconds float64  `json:"sum_seconds"`
	Buckets    []uint64 `json:"buckets"` // cumulative counts per bound in Metrics.Buckets
}

// Metrics is the answer of system.metrics.
type Metrics struct {
	UptimeSec       float64          `json:"uptime_sec"`
	Calls           []CallMetric     `json:"calls"`
	Buckets         []float64        `json:"buckets"`
	SkillProcesses  int              `json:"skill_processes"` // worker processes running now
	JobsRunning     int              `json:"jobs_running"`
	Nodes           int64            `json:"nodes"`
	Edges           int64            `json:"edges"`
	ByShape         map[string]int64 `json:"by_shape"`
	EventsPublished int64            `json:"events_published"` // the last event id minus the run's first
	Replica         *Replica         `json:"replica,omitempty"`
}

// MethodInfo describes one method in system.schema.
type MethodInfo struct {
	Name    string          `json:"name"`
	Summary string          `json:"summary"`
	Params  json.RawMessage `json:"params"`
}
