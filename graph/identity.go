package graph

import (
	"maps"
	"slices"

	"github.com/agentos/agentos/shapes"
)

// Identity upsert (DESIGN §5). A probe is one way an item can match an
// existing node: identity [a, b] is one probe with both keys (all must
// match); identity_any [x, y] is two probes tried in order. An item lacking
// any key of a probe cannot use it; with no usable probe it always creates.

func identityProbes(sh *shapes.Shape) [][]string {
	var probes [][]string
	if len(sh.Identity) > 0 {
		probes = append(probes, sh.Identity)
	}
	for _, k := range sh.IdentityAny {
		probes = append(probes, []string{k})
	}
	return probes
}

// driverKey is the probe key looked up through an index: a field if there
// is one (vals(key, value)), else a relation (edges by target).
func driverKey(sh *shapes.Shape, probe []string) string {
	for _, k := range probe {
		if _, isRel := sh.Relations[k]; !isRel {
			return k
		}
	}
	return probe[0]
}

// itemKey returns the identity values an item gives for key, as canon
// strings (relation targets as node ids), and whether it gives any.
func itemKey(sh *shapes.Shape, c *shapes.Coerced, rels map[string][]string, key string) ([]string, bool) {
	if _, isRel := sh.Relations[key]; isRel {
		t := rels[key]
		return t, len(t) > 0
	}
	if v, ok := c.Scalars[key]; ok {
		return []string{canon(v)}, true
	}
	if vs, ok := c.Arrays[key]; ok && len(vs) > 0 {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = canon(v)
		}
		return out, true
	}
	return nil, false
}

// stateKey is itemKey for a node's current state.
func stateKey(sh *shapes.Shape, st *nodeState, key string) []string {
	if _, isRel := sh.Relations[key]; isRel {
		refs := st.out[key]
		out := make([]string, len(refs))
		for i, e := range refs {
			out[i] = e.to
		}
		return out
	}
	f, ok := st.vals[key]
	if !ok {
		return nil
	}
	out := make([]string, len(f.vals))
	for i, v := range f.vals {
		out[i] = canon(v)
	}
	return out
}

// identIndex maps (key, value) to the nodes that had that value when they
// were indexed. Entries can go stale inside a batch (a merge changes a
// value); every hit is verified against the node's current state.
type identIndex struct {
	sh *shapes.Shape
	m  map[string][]string
}

func ixKey(key, v string) string { return key + "\x00" + v }

func (ix *identIndex) add(st *nodeState, probes [][]string) {
	for _, p := range probes {
		for _, k := range p {
			for _, v := range stateKey(ix.sh, st, k) {
				ik := ixKey(k, v)
				ids := ix.m[ik]
				if !slices.Contains(ids, st.id) {
					ix.m[ik] = append(ids, st.id)
				}
			}
		}
	}
}

// match returns the node the item merges into, or nil: the first probe
// with a verified candidate wins; among candidates the oldest id wins.
func (ix *identIndex) match(w *wtx, probes [][]string, c *shapes.Coerced, rels map[string][]string) *nodeState {
	for _, p := range probes {
		vals := make([][]string, len(p))
		complete := true
		for i, k := range p {
			v, ok := itemKey(ix.sh, c, rels, k)
			if !ok {
				complete = false
				break
			}
			vals[i] = v
		}
		if !complete {
			continue
		}
		d := driverKey(ix.sh, p)
		di := slices.Index(p, d)
		var best *nodeState
		for _, id := range ix.m[ixKey(d, vals[di][0])] {
			st := w.states[id]
			if st == nil || st.deleted || (best != nil && best.id < id) {
				continue
			}
			if ix.verify(st, p, vals) {
				best = st
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

func (ix *identIndex) verify(st *nodeState, probe []string, vals [][]string) bool {
	for i, k := range probe {
		have := stateKey(ix.sh, st, k)
		if _, isRel := ix.sh.Relations[k]; isRel {
			// Every target the item names must be linked already.
			for _, t := range vals[i] {
				if !slices.Contains(have, t) {
					return false
				}
			}
			continue
		}
		if len(have) != len(vals[i]) {
			return false
		}
		for j := range have {
			if have[j] != vals[i][j] {
				return false
			}
		}
	}
	return true
}

// prefetch finds, in a few indexed queries per batch, every live node of the
// shape that could match some item, loads them, and indexes them. It
// returns nil when no item gives a complete identity.
func (w *wtx) prefetch(sh *shapes.Shape, probes [][]string, cs []*shapes.Coerced, rels []map[string][]string) (*identIndex, error) {
	ix := &identIndex{sh: sh, m: map[string][]string{}}
	fieldVals := map[string][]any{}  // driver field key → distinct SQL values
	relTargets := map[string][]any{} // driver relation label → distinct target ids
	seen := map[string]bool{}
	for i, c := range cs {
		var r map[string][]string
		if rels != nil {
			r = rels[i]
		}
		for _, p := range probes {
			complete := true
			for _, k := range p {
				if _, ok := itemKey(sh, c, r, k); !ok {
					complete = false
					break
				}
			}
			if !complete {
				continue
			}
			d := driverKey(sh, p)
			if _, isRel := sh.Relations[d]; isRel {
				t := r[d][0]
				if sk := ixKey("r"+d, t); !seen[sk] {
					seen[sk] = true
					relTargets[d] = append(relTargets[d], t)
				}
				continue
			}
			var v shapes.Value
			if sv, ok := c.Scalars[d]; ok {
				v = sv
			} else {
				v = c.Arrays[d][0]
			}
			if sk := ixKey("f"+d, canon(v)); !seen[sk] {
				seen[sk] = true
				fieldVals[d] = append(fieldVals[d], sqlOf(v))
			}
		}
	}
	if len(fieldVals) == 0 && len(relTargets) == 0 {
		// No item can match anything: every item creates, and two items
		// of the batch cannot share an identity either.
		return nil, nil
	}
	var seqs []int64
	var ids []string
	seen = map[string]bool{}
	run := func(tmpl, key string, vals []any, collect func(r []any)) error {
		for len(vals) > 0 {
			n := min(len(vals), maxIn)
			part := padAny(vals[:n])
			vals = vals[n:]
			args := make([]any, 0, len(part)+2)
			args = append(args, key)
			args = append(args, part...)
			args = append(args, sh.Name)
			if err := w.query(w.s.inSQL(tmpl, len(part)), args, 1, func(r []any) error { collect(r); return nil }); err != nil {
				return err
			}
		}
		return nil
	}
	for _, key := range slices.Sorted(maps.Keys(fieldVals)) {
		if err := run(`SELECT v.owner FROM vals v
			WHERE v.key = ? AND v.value IN (%s) AND v.owner > 0
			AND EXISTS (SELECT 1 FROM node_shapes s WHERE s.shape = ? AND s.node = v.owner)
			AND EXISTS (SELECT 1 FROM nodes n WHERE n.seq = v.owner AND n.deleted_at IS NULL)`, key, fieldVals[key], func(r []any) {
			seqs = append(seqs, r[0].(int64))
		}); err != nil {
			return nil, err
		}
	}
	for _, label := range slices.Sorted(maps.Keys(relTargets)) {
		if err := run(`SELECT e.from_id FROM edges e
			WHERE e.label = ? AND e.to_id IN (%s) AND e.deleted_at IS NULL
			AND EXISTS (SELECT 1 FROM nodes n WHERE n.id = e.from_id AND n.deleted_at IS NULL
				AND EXISTS (SELECT 1 FROM node_shapes s WHERE s.shape = ? AND s.node = n.seq))`, label, relTargets[label], func(r []any) {
			if id := r[0].(string); !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}); err != nil {
			return nil, err
		}
	}
	var cands []string
	if len(seqs) > 0 {
		slices.Sort(seqs)
		found, err := w.loadStates(nil, slices.Compact(seqs))
		if err != nil {
			return nil, err
		}
		cands = append(cands, found...)
	}
	if len(ids) > 0 {
		found, err := w.loadStates(ids, nil)
		if err != nil {
			return nil, err
		}
		cands = append(cands, found...)
	}
	for _, id := range cands {
		if st := w.states[id]; st != nil {
			ix.add(st, probes)
		}
	}
	return ix, nil
}
