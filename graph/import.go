package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Provenance (DESIGN §5). Items a skill returns are stored like any write,
// and each is linked to the skill's own node by an edge
//
//	item -imported_from-> skill node   (edge value remote_id = the item's "id")
//
// When an item's identity matches no node, the pair (skill, remote id) found
// through that edge does, so importing the same remote item again never
// duplicates it.

// ImportedFrom is the label of provenance edges; RemoteIDKey the edge value
// holding the item's id at its source.
const (
	ImportedFrom = "imported_from"
	RemoteIDKey  = "remote_id"
	// SourceShape is the shape of the node that stands for a skill.
	SourceShape = "skill"
)

// provenance carries, through one upsert, what each item's remote id says.
type provenance struct {
	remote []string          // per item; "" when the item has no id
	known  map[string]string // remote id → node id, from earlier imports and this batch
}

func (p *provenance) lookup(w *wtx, i int) (*nodeState, error) {
	id := p.known[p.remote[i]]
	if p.remote[i] == "" || id == "" {
		return nil, nil
	}
	st, err := w.loadState(id)
	if err != nil || st.deleted {
		return nil, err
	}
	return st, nil
}

func (p *provenance) placed(i int, id string) {
	if p.remote[i] != "" {
		p.known[p.remote[i]] = id
	}
}

// Import upserts items of shape returned by the skill named source. Each
// item's own "id" field is its remote id: it is kept on the provenance edge,
// not as a field of the node.
func (s *Store) Import(ctx context.Context, source, shape string, items []map[string]any) (*WriteResult, error) {
	if strings.TrimSpace(source) == "" {
		return nil, errorf(ErrInvalid, "an import needs its source")
	}
	if err := checkItems(items); err != nil {
		return nil, err
	}
	prov := &provenance{remote: make([]string, len(items)), known: map[string]string{}}
	clean := make([]map[string]any, len(items))
	for i, it := range items {
		rid, err := remoteID(it["id"])
		if err != nil {
			return nil, errorf(ErrInvalid, "items[%d].id: %v", i, err)
		}
		prov.remote[i] = rid
		clean[i] = make(map[string]any, len(it))
		for k, v := range it {
			if k != "id" {
				clean[i][k] = v
			}
		}
	}
	out := &WriteResult{IDs: []string{}}
	err := s.write(ctx, "import", func(w *wtx) error {
		src, err := w.upsert(SourceShape, []map[string]any{{"name": source}}, func(int) string { return "source" }, 0)
		if err != nil {
			return err
		}
		srcID := src[0].id
		if err := w.knownImports(srcID, prov); err != nil {
			return err
		}
		res, err := w.upsertFrom(shape, clean, func(i int) string { return "items[" + strconv.Itoa(i) + "]" }, 0, prov)
		if err != nil {
			return err
		}
		for i, r := range res {
			out.IDs = append(out.IDs, r.id)
			if r.created {
				out.Created++
			} else {
				out.Updated++
			}
			if len(r.warnings) > 0 {
				out.Warnings = append(out.Warnings, ItemWarning{Index: i, Warnings: r.warnings})
			}
			if err := w.linkImport(r.id, srcID, prov.remote[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// remoteID renders an item's id as text: a string or an integer.
func remoteID(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(x), nil
	case json.Number:
		return x.String(), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10), nil
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	}
	return "", fmt.Errorf("must be a string or a number, not %T", v)
}

// knownImports fills prov.known with the live nodes earlier imports from
// srcID recorded for the batch's remote ids. The lookup goes through the
// (key, value) index of vals, then the edge by its row key.
func (w *wtx) knownImports(srcID string, prov *provenance) error {
	var keys []any
	seen := map[string]bool{}
	for _, r := range prov.remote {
		if r != "" && !seen[r] {
			seen[r] = true
			keys = append(keys, r)
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), maxIn)
		args := append([]any{srcID, ImportedFrom, RemoteIDKey}, padAny(keys[:n])...)
		keys = keys[n:]
		q := w.s.inSQL(`SELECT v.value, e.from_id FROM vals v
			JOIN edges e ON e.seq = -v.owner
			JOIN nodes n ON n.id = e.from_id
			WHERE e.to_id = ? AND e.label = ? AND e.deleted_at IS NULL AND n.deleted_at IS NULL
			  AND v.key = ? AND v.idx = -1 AND v.value IN (%s)`, len(args)-3)
		if err := w.query(q, args, 2, func(r []any) error {
			if rid, ok := r[0].(string); ok {
				prov.known[rid] = r[1].(string)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// linkImport makes sure node has its imported_from edge to srcID, carrying
// remoteID (replacing an older remote id: one per node and source).
func (w *wtx) linkImport(node, srcID, remoteID string) error {
	var seq int64
	if err := w.query("SELECT seq FROM edges WHERE from_id = ? AND label = ? AND to_id = ? AND deleted_at IS NULL",
		[]any{node, ImportedFrom, srcID}, 1, func(r []any) error { seq = r[0].(int64); return nil }); err != nil {
		return err
	}
	if seq == 0 {
		var err error
		if seq, err = w.insert("INSERT INTO edges(id, from_id, label, to_id, created_at) VALUES (?, ?, ?, ?, ?)",
			w.s.ids.next(time.Now()), node, ImportedFrom, srcID, w.now); err != nil {
			return err
		}
	}
	if _, err := w.exec("DELETE FROM vals WHERE owner = ? AND key = ?", -seq, RemoteIDKey); err != nil {
		return err
	}
	if remoteID == "" {
		return nil
	}
	_, err := w.exec("INSERT INTO vals(key, value, owner, idx, unit) VALUES (?, ?, ?, -1, 'text')", RemoteIDKey, remoteID, -seq)
	return err
}
