package graph

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentos/agentos/internal/jsonstr"
)

// The read paths of the socket (data.read) answer with JSON, and a node's
// fields are JSON already in nodes.fields. Decoding that document into a
// map and encoding the map again with encoding/json was most of a point
// read's Go time, so GetJSON and QueryJSON write the answer straight from
// the row: the document is transcoded (unit wrappers dropped, numbers in
// encoding/json's form, keys sorted) and nothing else is built. The bytes
// are exactly json.Marshal of the *Node or *Page that Get and Query return
// (wirejson_test.go holds the two to that).

// nodeRow is one nodes row as the read statements select it.
type nodeRow struct {
	seq                int64
	id, shapes, fields string
	created, updated   int64
	deleted            *int64
}

// appendNodeJSON appends the JSON of n with its edges as liveEdges gives
// them (none for a deleted node, the rest ordered by id).
func appendNodeJSON(b []byte, n *nodeRow, edges []Edge) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = jsonstr.Append(b, n.id, true)
	b = append(b, `,"shapes":[`...)
	for i, sh := range strings.Fields(n.shapes) {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.Append(b, sh, true)
	}
	b = append(b, `],"fields":`...)
	b, err := appendFieldsJSON(b, n.fields)
	if err != nil {
		return nil, err
	}
	if len(edges) > 0 {
		b = append(b, `,"edges":[`...)
		for i, e := range edges {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = jsonstr.Append(b, e.ID, true)
			b = append(b, `,"label":`...)
			b = jsonstr.Append(b, e.Label, true)
			b = append(b, `,"from":`...)
			b = jsonstr.Append(b, e.From, true)
			b = append(b, `,"to":`...)
			b = jsonstr.Append(b, e.To, true)
			b = append(b, `,"created_at":`...)
			b = appendTimeJSON(b, e.CreatedAt)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"created_at":`...)
	b = appendTimeJSON(b, msTime(n.created))
	b = append(b, `,"updated_at":`...)
	b = appendTimeJSON(b, msTime(n.updated))
	if n.deleted != nil {
		b = append(b, `,"deleted_at":`...)
		b = appendTimeJSON(b, msTime(*n.deleted))
	}
	return append(b, '}'), nil
}

// appendTimeJSON appends t as time.Time's MarshalJSON does.
func appendTimeJSON(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendFloatJSON appends f as encoding/json writes a float64: the
// shortest form, in exponent notation only for very small or large
// magnitudes, with a one-digit exponent not padded.
func appendFloatJSON(b []byte, f float64) []byte {
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// docMember is one key of a fields document and where its transcoded
// value sits in the scratch buffer.
type docMember struct {
	key        string
	start, end int
}

// appendFieldsJSON appends the fields document doc as Node.Fields
// marshals: {"d": …} and {"u": …} wrappers become their string, {"j": …}
// its (compacted) JSON, numbers take encoding/json's form, and keys are
// sorted as encoding/json sorts a map's.
func appendFieldsJSON(b []byte, doc string) ([]byte, error) {
	p := docParser{s: doc}
	var members []docMember
	var scratch []byte
	err := p.object(func(key string) error {
		start := len(scratch)
		var err error
		p.space()
		if p.peek() == '[' {
			p.i++
			scratch = append(scratch, '[')
			p.space()
			for first := true; p.peek() != ']'; first = false {
				if !first {
					if p.next() != ',' {
						return p.fail("expected , or ]")
					}
					scratch = append(scratch, ',')
				}
				if scratch, err = p.transcodeValue(scratch); err != nil {
					return err
				}
				p.space()
			}
			p.i++
			scratch = append(scratch, ']')
		} else if scratch, err = p.transcodeValue(scratch); err != nil {
			return err
		}
		members = append(members, docMember{key: key, start: start, end: len(scratch)})
		return nil
	})
	if err != nil {
		return nil, corruptDoc(err)
	}
	if !slices.IsSortedFunc(members, cmpMember) {
		slices.SortFunc(members, cmpMember)
	}
	b = append(b, '{')
	for i, m := range members {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.Append(b, m.key, true)
		b = append(b, ':')
		b = append(b, scratch[m.start:m.end]...)
	}
	return append(b, '}'), nil
}

func cmpMember(a, b docMember) int { return strings.Compare(a.key, b.key) }

// transcodeValue appends the wire form of the document value at p.
func (p *docParser) transcodeValue(b []byte) ([]byte, error) {
	p.space()
	if p.peek() == '{' {
		var err error
		perr := p.object(func(key string) error {
			p.space()
			switch key {
			case "d", "u":
				var s string
				if s, err = p.str(); err == nil {
					b = jsonstr.Append(b, s, true)
				}
				return err
			case "j":
				start := p.i
				if err = p.skip(); err != nil {
					return err
				}
				b, err = appendCompactJSON(b, p.s[start:p.i])
				return err
			}
			return p.fail("unknown wrapper " + key)
		})
		return b, perr
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	switch x := v.V.(type) {
	case string:
		return jsonstr.Append(b, x, true), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case float64:
		return appendFloatJSON(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	}
	return nil, p.fail("unexpected value")
}

// appendCompactJSON appends a json-unit value as json.Marshal writes a
// json.RawMessage: compacted, HTML characters escaped.
func appendCompactJSON(b []byte, raw string) ([]byte, error) {
	if !strings.ContainsAny(raw, " \t\r\n<>&") && !strings.Contains(raw, "\u2028") && !strings.Contains(raw, "\u2029") {
		return append(b, raw...), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(raw)); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	json.HTMLEscape(&out, buf.Bytes())
	return append(b, out.Bytes()...), nil
}
