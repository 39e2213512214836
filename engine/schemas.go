package engine

import "encoding/json"

// JSON Schemas of method params, served by system.schema so clients (the MCP
// proxy first of all) can build typed tools without hard-coding them.
var (
	schemaEmpty = json.RawMessage(`{"type":"object","properties":{},"additionalProperties":false}`)
	schemaHello = json.RawMessage(`{"type":"object","properties":{
		"client":{"type":"string","description":"who is calling: cli, mcp, bridge, ..."},
		"session":{"type":"string","description":"optional session id"},
		"quiet":{"type":"boolean","description":"housekeeping connection: its calls emit no observer events (they still count in system.metrics)"}},
		"required":["client"],"additionalProperties":false}`)
	schemaCreate = json.RawMessage(`{"type":"object","properties":{
		"shape":{"type":"string","description":"shape name, e.g. task"},
		"fields":{"type":"object","description":"field values; relation keys may hold a node id or a nested object"},
		"relations":{"type":"object","description":"relation key -> node id, nested object, or a list of them"}},
		"required":["shape","fields"],"additionalProperties":false}`)
	schemaWrite = json.RawMessage(`{"type":"object","properties":{
		"shape":{"type":"string"},
		"items":{"type":"array","items":{"type":"object"},"description":"items to upsert by the shape's identity, all in one transaction"}},
		"required":["shape","items"],"additionalProperties":false}`)
	schemaRead = json.RawMessage(`{"type":"object","properties":{
		"id":{"type":"string","description":"read one node"},
		"shape":{"type":"string","description":"read a page of nodes of this shape"},
		"where":{"type":"object","description":"field -> value equality filters (array fields: contains)"},
		"order":{"type":"string","description":"field to sort by, '-' prefix for descending; default creation order"},
		"limit":{"type":"integer","minimum":1,"maximum":1000},
		"cursor":{"type":"string","description":"cursor from the previous page"},
		"include_deleted":{"type":"boolean"}},
		"additionalProperties":false}`)
	schemaUpdate = json.RawMessage(`{"type":"object","properties":{
		"id":{"type":"string"},
		"fields":{"type":"object","description":"fields to merge; null removes a field"}},
		"required":["id","fields"],"additionalProperties":false}`)
	schemaID   = json.RawMessage(`{"type":"object","properties":{"id":{"type":"string"}},"required":["id"],"additionalProperties":false}`)
	schemaLink = json.RawMessage(`{"type":"object","properties":{
		"from":{"type":"string"},"label":{"type":"string"},"to":{"type":"string"}},
		"required":["from","label","to"],"additionalProperties":false}`)
	schemaSearch = json.RawMessage(`{"type":"object","properties":{
		"query":{"type":"string","description":"words to find; quotes and operators are treated as text"},
		"shape":{"type":"string"},
		"limit":{"type":"integer","minimum":1,"maximum":200}},
		"required":["query"],"additionalProperties":false}`)
	schemaNeighbors = json.RawMessage(`{"type":"object","properties":{
		"id":{"type":"string"},"label":{"type":"string"},
		"direction":{"type":"string","enum":["out","in","both"]},
		"depth":{"type":"integer","minimum":1,"maximum":5}},
		"required":["id"],"additionalProperties":false}`)
	schemaShapeGet  = json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}`)
	schemaSubscribe = json.RawMessage(`{"type":"object","properties":{
		"since":{"type":"integer","description":"replay remembered events with a larger id first"},
		"types":{"type":"array","items":{"type":"string"},"description":"only events of these types (lagged always comes); default all"}},
		"additionalProperties":false}`)
	schemaHistory = json.RawMessage(`{"type":"object","properties":{
		"since":{"type":"integer","description":"only events with a larger id (default: every remembered event)"},
		"limit":{"type":"integer","minimum":1,"maximum":4096,"description":"at most this many, the newest (default 200)"}},
		"additionalProperties":false}`)
	schemaSkillGet = json.RawMessage(`{"type":"object","properties":{"id":{"type":"string"}},"required":["id"],"additionalProperties":false}`)
	schemaSkillRun = json.RawMessage(`{"type":"object","properties":{
		"skill":{"type":"string"},"tool":{"type":"string"},
		"params":{"type":"object","description":"the tool's params, as its JSON Schema in skills.get describes"}},
		"required":["skill","tool"],"additionalProperties":false}`)
	schemaInvoke = json.RawMessage(`{"type":"object","properties":{
		"capability":{"type":"string","description":"e.g. llm, web.read"},
		"params":{"type":"object"},
		"provider":{"type":"string","description":"a skill id (or skill/tool) to use instead of the ranking"},
		"async":{"type":"boolean","description":"return {job} at once; follow it with jobs.get or observer events"}},
		"required":["capability"],"additionalProperties":false}`)
	schemaPrefer = json.RawMessage(`{"type":"object","properties":{
		"capability":{"type":"string"},"skill":{"type":"string","description":"empty clears the pin"}},
		"required":["capability","skill"],"additionalProperties":false}`)
)
