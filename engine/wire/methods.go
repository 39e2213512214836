package wire

import "encoding/json"

// Method names: the one place each is written.
const (
	MethodPing          = "system.ping"
	MethodHello         = "system.hello"
	MethodStatus        = "system.status"
	MethodSchema        = "system.schema"
	MethodMetrics       = "system.metrics"
	MethodCreate        = "data.create"
	MethodWrite         = "data.write"
	MethodRead          = "data.read"
	MethodUpdate        = "data.update"
	MethodDelete        = "data.delete"
	MethodRestore       = "data.restore"
	MethodLink          = "data.link"
	MethodUnlink        = "data.unlink"
	MethodSearch        = "data.search"
	MethodNeighbors     = "data.neighbors"
	MethodNodeHistory   = "data.history"
	MethodShapesList    = "shapes.list"
	MethodShapesGet     = "shapes.get"
	MethodSkillsList    = "skills.list"
	MethodSkillsGet     = "skills.get"
	MethodSkillsReload  = "skills.reload"
	MethodSkillsRun     = "skills.run"
	MethodCapList       = "capabilities.list"
	MethodInvoke        = "capabilities.invoke"
	MethodPrefer        = "capabilities.prefer"
	MethodJobsList      = "jobs.list"
	MethodJobsGet       = "jobs.get"
	MethodJobsCancel    = "jobs.cancel"
	MethodJobsRespond   = "jobs.respond"
	MethodSecretsSet    = "secrets.set"
	MethodSecretsList   = "secrets.list"
	MethodSecretsDelete = "secrets.delete"
	MethodEventHistory  = "observer.history"
	MethodSubscribe     = "observer.subscribe"
	MethodAgentsList    = "agents.list"
	MethodAgentsGet     = "agents.get"
	MethodAgentsEnable  = "agents.enable"
	MethodAgentsDisable = "agents.disable"
	NotificationEvent   = "observer.event"
)

// NoParams is the params of methods that take none.
type NoParams struct{}

// NameParams names one thing by name (agents.get).
type NameParams struct {
	Name string `json:"name" desc:"its name"`
}

// HelloParams names the caller of a connection (system.hello).
type HelloParams struct {
	Client  string `json:"client" desc:"who is calling: cli, mcp, bridge, ..."`
	Session string `json:"session,omitempty" desc:"optional session id"`
	Quiet   bool   `json:"quiet,omitempty" desc:"housekeeping connection: its calls emit no observer events (they still count in system.metrics)"`
}

// CreateParams is data.create.
type CreateParams struct {
	Shape     string         `json:"shape" desc:"shape name, e.g. task"`
	Fields    map[string]any `json:"fields" desc:"field values; relation keys may hold a node id or a nested object"`
	Relations map[string]any `json:"relations,omitempty" desc:"relation key -> node id, nested object, or a list of them"`
}

// WriteParams is data.write.
type WriteParams struct {
	Shape string           `json:"shape" desc:"shape name, e.g. task"`
	Items []map[string]any `json:"items" desc:"items to upsert by the shape's identity, all in one transaction"`
	// Partial writes the items that can be written: one refused for
	// itself is left out and reported in the result's errors.
	Partial bool `json:"partial,omitempty" desc:"write the items that can be written and report the others in errors, instead of all or nothing"`
}

// WriteResult is data.write's answer: the stored nodes' ids in the items'
// order ("" for an item in errors), how many were created or updated,
// coercion warnings, and with partial the items refused.
type WriteResult struct {
	IDs      []string      `json:"ids"`
	Created  int           `json:"created"`
	Updated  int           `json:"updated"`
	Warnings []ItemWarning `json:"warnings,omitempty"`
	Errors   []ItemError   `json:"errors,omitempty"`
}

// ItemWarning is one item's coercion notes.
type ItemWarning struct {
	Index    int      `json:"index"`
	Warnings []string `json:"warnings"`
}

// ItemError is an item a partial write refused, and why.
type ItemError struct {
	Index   int    `json:"index"`
	Kind    Kind   `json:"kind"`
	Message string `json:"message"`
}

// ReadParams is data.read: id for one node, or shape (with the rest) for a
// page.
type ReadParams struct {
	ID             string         `json:"id,omitempty" desc:"id of one node to read"`
	Shape          string         `json:"shape,omitempty" desc:"read a page of nodes of this shape"`
	Where          map[string]any `json:"where,omitempty" desc:"field -> value equality filters (array fields: contains)"`
	Order          string         `json:"order,omitempty" desc:"field to sort by, '-' prefix for descending; default creation order"`
	Limit          int            `json:"limit,omitempty" desc:"page size" schema:"min=1;max=1000"`
	Cursor         string         `json:"cursor,omitempty" desc:"cursor from the previous page"`
	IncludeDeleted bool           `json:"include_deleted,omitempty" desc:"include deleted nodes"`
}

// UpdateParams is data.update.
type UpdateParams struct {
	ID     string         `json:"id" desc:"id of the node to change"`
	Fields map[string]any `json:"fields" desc:"fields to merge; null removes a field"`
}

// IDParams names one node or job (data.delete, data.restore, data.history,
// jobs.get, jobs.cancel).
type IDParams struct {
	ID string `json:"id" desc:"its id"`
}

// LinkParams is data.link and data.unlink.
type LinkParams struct {
	From  string `json:"from" desc:"id of the source node"`
	Label string `json:"label" desc:"edge label, e.g. assigned_to"`
	To    string `json:"to" desc:"id of the target node"`
}

// SearchParams is data.search.
type SearchParams struct {
	Query string `json:"query" desc:"words to find; quotes and operators are treated as text"`
	Shape string `json:"shape,omitempty" desc:"only nodes of this shape"`
	Limit int    `json:"limit,omitempty" desc:"most hits to return (default 20)" schema:"min=1;max=1000"`
}

// NeighborsParams is data.neighbors.
type NeighborsParams struct {
	ID        string `json:"id" desc:"id of the node"`
	Label     string `json:"label,omitempty" desc:"only edges with this label"`
	Direction string `json:"direction,omitempty" desc:"edge direction (default both)" schema:"enum=out|in|both"`
	Depth     int    `json:"depth,omitempty" desc:"hops (default 1)" schema:"min=1;max=5"`
}

// ShapeGetParams is shapes.get.
type ShapeGetParams struct {
	Name string `json:"name" desc:"shape name"`
}

// EventHistoryParams is observer.history.
type EventHistoryParams struct {
	Since *int64 `json:"since,omitempty" desc:"only events with a larger id (default: every remembered event)"`
	Limit int    `json:"limit,omitempty" desc:"at most this many, the newest (default 200)" schema:"min=1;max=4096"`
}

// SubscribeParams is observer.subscribe.
type SubscribeParams struct {
	Since *int64   `json:"since,omitempty" desc:"replay remembered events with a larger id first"`
	Types []string `json:"types,omitempty" desc:"only events of these types (lagged always comes); default all"`
}

// SkillGetParams is skills.get.
type SkillGetParams struct {
	ID string `json:"id" desc:"skill id (its folder name)"`
}

// SkillRunParams is skills.run.
type SkillRunParams struct {
	Skill  string          `json:"skill" desc:"skill id"`
	Tool   string          `json:"tool" desc:"tool name"`
	Params json.RawMessage `json:"params,omitempty" desc:"the tool's params, as its JSON Schema in skills.get describes" schema:"type=object"`
}

// InvokeParams is capabilities.invoke.
type InvokeParams struct {
	Capability string          `json:"capability" desc:"capability name, e.g. llm, web.read"`
	Params     json.RawMessage `json:"params,omitempty" desc:"the capability's params" schema:"type=object"`
	Provider   string          `json:"provider,omitempty" desc:"a skill id (or skill/tool) to use instead of the ranking"`
	Async      bool            `json:"async,omitempty" desc:"return {job} at once; follow it with jobs.get or observer events"`
	// ClientFeatures are what the caller answers for the skill on this
	// connection (job.input events, then jobs.respond): the MCP proxy passes
	// on what its client offers.
	ClientFeatures []string `json:"client_features,omitempty" desc:"what this connection answers for the job's skills: elicitation, sampling"`
}

// Client features a caller can offer a job (InvokeParams.ClientFeatures).
const (
	FeatureElicitation = "elicitation"
	FeatureSampling    = "sampling"
)

// RespondParams is jobs.respond: the answer to a job.input event.
type RespondParams struct {
	Job     string          `json:"job" desc:"the job the input was asked for"`
	Request string          `json:"request" desc:"the request id of the job.input event"`
	Result  json.RawMessage `json:"result,omitempty" desc:"the answer: the client's elicitation or sampling result" schema:"type=object"`
	Error   string          `json:"error,omitempty" desc:"why there is no answer (the client refused or failed)"`
}

// PreferParams is capabilities.prefer.
type PreferParams struct {
	Capability string `json:"capability" desc:"capability name"`
	Skill      string `json:"skill" desc:"skill id to pin; empty clears the pin" schema:"empty"`
}

// SecretSetParams is secrets.set.
type SecretSetParams struct {
	Name  string `json:"name" desc:"secret name, as skills ask for it: secrets.get(name) with secrets(name) in allowed-tools" schema:"pattern=^[A-Za-z0-9_.-]{1,128}$;rule=is not a valid secret name: use 1 to 128 characters of A-Z a-z 0-9 _ . -"`
	Value string `json:"value" desc:"the secret; stored encrypted and never returned by any method" schema:"minLength=1"`
}

// SecretNameParams is secrets.delete.
type SecretNameParams struct {
	Name string `json:"name" desc:"secret name" schema:"pattern=^[A-Za-z0-9_.-]{1,128}$;rule=is not a valid secret name: use 1 to 128 characters of A-Z a-z 0-9 _ . -"`
}

// ToolName maps a capability to the tool name a model or an MCP client
// sees: dots and anything else a client would reject become underscores,
// cut to 64 characters (web.read -> web_read). The MCP proxy and agents
// both name tools so.
func ToolName(capability string) string {
	b := []byte(capability)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		b = []byte("capability")
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}
