package graph

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/agentos/agentos/shapes"
)

func TestDocumentRoundTripKeepsUnits(t *testing.T) {
	in := map[string]fieldVal{
		"title":      {vals: []shapes.Value{{Unit: shapes.UnitText, V: "héllo \"quoted\" \\ \n\t\u2028 <b>"}}},
		"n":          {vals: []shapes.Value{{Unit: shapes.UnitInteger, V: int64(-42)}}},
		"f":          {vals: []shapes.Value{{Unit: shapes.UnitNumber, V: 4.0}}},
		"big":        {vals: []shapes.Value{{Unit: shapes.UnitNumber, V: 1e30}}},
		"b":          {vals: []shapes.Value{{Unit: shapes.UnitBool, V: false}}},
		"due":        {vals: []shapes.Value{{Unit: shapes.UnitDatetime, V: "2025-01-02T03:04:05.000Z"}}},
		"url":        {vals: []shapes.Value{{Unit: shapes.UnitURL, V: "https://example.com/a?b=c"}}},
		"meta":       {vals: []shapes.Value{{Unit: shapes.UnitJSON, V: json.RawMessage(`{"a":[1,"x}",{"b":null}],"c":"\""}`)}}},
		"scalarjson": {vals: []shapes.Value{{Unit: shapes.UnitJSON, V: json.RawMessage(`7`)}}},
		"tags":       {array: true, vals: []shapes.Value{{Unit: shapes.UnitText, V: "a"}, {Unit: shapes.UnitInteger, V: int64(2)}}},
		"empty":      {array: true, vals: []shapes.Value{}},
		"k\"ey.":     {vals: []shapes.Value{{Unit: shapes.UnitText, V: ""}}},
	}
	doc := string(appendDoc(nil, in))
	if !json.Valid([]byte(doc)) {
		t.Fatalf("document is not JSON: %s", doc)
	}
	out, err := parseDoc(doc)
	if err != nil {
		t.Fatalf("parse %s: %v", doc, err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip changed values:\n in  %#v\n out %#v\n doc %s", in, out, doc)
	}
}

func TestDocumentParserRejectsGarbage(t *testing.T) {
	for _, doc := range []string{``, `{`, `{"a"}`, `{"a":}`, `{"a":{"x":1}}`, `{"a":[1,}`, `{"a":"unterminated}`, `{"a":{"j":[1,2}}`, `[1]`} {
		if _, err := parseDoc(doc); err == nil {
			t.Errorf("parseDoc(%q) accepted garbage", doc)
		}
	}
}
