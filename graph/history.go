package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/agentos/agentos/shapes"
)

// Change is one history record of a node. Before and After hold only the
// keys that changed, null meaning "absent"; relation changes appear under
// the relation label as lists of target ids.
type Change struct {
	Seq    int64          `json:"seq"`
	NodeID string         `json:"node_id"`
	At     time.Time      `json:"at"`
	Actor  string         `json:"actor"`
	Op     string         `json:"op"`
	Before map[string]any `json:"before,omitempty"`
	After  map[string]any `json:"after,omitempty"`
}

// History returns the change records of a node, oldest first. The first
// is always its "create": a batch write stores one create record for all
// the nodes it made, and this node's share of it (the fields it was created
// with, relations included) is worked out here by undoing the later updates
// on its current fields.
func (s *Store) History(ctx context.Context, id string) ([]Change, error) {
	if err := checkID("node", id); err != nil {
		return nil, err
	}
	rq := s.reader(ctx)
	var (
		seq, createdAt int64
		createdBy      any
		doc, shapeCol  string
		found          bool
	)
	if err := rq.query("SELECT seq, created_at, created_by, fields, shapes FROM nodes WHERE id = ?", []any{id}, 5, func(r []any) error {
		found = true
		seq, createdAt, createdBy, doc, shapeCol = r[0].(int64), r[1].(int64), r[2], r[3].(string), r[4].(string)
		return nil
	}); err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("node", id)
	}
	create := Change{NodeID: id, At: msTime(createdAt), Actor: "unknown", Op: "create"}
	if cb, ok := createdBy.(int64); ok {
		create.Seq = cb
		if err := rq.query("SELECT at, actor FROM changes WHERE seq = ?", []any{cb}, 2, func(r []any) error {
			create.At, create.Actor = msTime(r[0].(int64)), r[1].(string)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	out := []Change{create}
	err := rq.query("SELECT seq, at, actor, op, before, after FROM changes WHERE node = ? ORDER BY seq", []any{seq}, 6, func(r []any) error {
		c := Change{Seq: r[0].(int64), NodeID: id, At: msTime(r[1].(int64)), Actor: r[2].(string), Op: r[3].(string)}
		var err error
		if c.Before, err = decodeChange(r[4]); err != nil {
			return err
		}
		if c.After, err = decodeChange(r[5]); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	after, err := docFields(doc)
	if err != nil {
		return nil, err
	}
	var rels map[string]shapes.Relation
	if names := strings.Fields(shapeCol); len(names) > 0 {
		if sh, ok := s.reg.Load().Get(names[0]); ok {
			rels = sh.Relations
		}
	}
	for i := len(out) - 1; i > 0; i-- {
		if out[i].Op != "update" {
			continue
		}
		for k, v := range out[i].Before {
			if _, isRel := rels[k]; isRel || k == "shapes" {
				continue
			}
			if v == nil {
				delete(after, k)
			} else {
				after[k] = v
			}
		}
	}
	// Relations the node was created with: its edges made in the same
	// instant (still live; an edge removed since shows in its unlink record).
	if err := rq.query("SELECT label, to_id FROM edges WHERE from_id = ? AND deleted_at IS NULL AND created_at = ? ORDER BY seq", []any{id, createdAt}, 2, func(r []any) error {
		label := r[0].(string)
		ts, _ := after[label].([]string)
		after[label] = append(ts, r[1].(string))
		return nil
	}); err != nil {
		return nil, err
	}
	if len(after) > 0 {
		out[0].After = after
	}
	return out, nil
}

// decodeChange reads a before/after column; integers come back as int64 and
// other numbers as float64, matching Node.Fields.
func decodeChange(raw any) (map[string]any, error) {
	var text []byte
	switch x := raw.(type) {
	case nil:
		return nil, nil
	case string:
		text = []byte(x)
	case []byte:
		text = x
	default:
		return nil, fmt.Errorf("graph: change record of type %T", raw)
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("graph: decode change record: %w", err)
	}
	for k, v := range m {
		m[k] = numbers(v)
	}
	return m, nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = numbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = numbers(x[k])
		}
	}
	return v
}
