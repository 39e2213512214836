package shapes

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestNormalizeAcceptsGoValues(t *testing.T) {
	type label string
	type point struct {
		X int `json:"x"`
	}
	s := "pointed"
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"named string type", label("x"), "x"},
		{"int32", int32(5), int64(5)},
		{"uint", uint(5), uint64(5)},
		{"float32", float32(0.5), 0.5},
		{"pointer to string", &s, "pointed"},
		{"nil pointer", (*string)(nil), nil},
		{"nil slice", []string(nil), nil},
		{"slice of strings", []string{"a", "b"}, []any{"a", "b"}},
		{"array", [2]int{1, 2}, []any{1, 2}},
		{"map of strings", map[string]string{"k": "v"}, map[string]any{"k": "v"}},
		{"struct goes through JSON", point{X: 3}, map[string]any{"x": json.Number("3")}},
		{"raw JSON is decoded with exact numbers", json.RawMessage(`[1.50, "a"]`), []any{json.Number("1.50"), "a"}},
		{"bytes are text", []byte("hi"), "hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := normalize(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("normalize(%#v) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDescribeShortensLongValues(t *testing.T) {
	long := make([]byte, 100)
	for i := range long {
		long[i] = 'a'
	}
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"string is quoted", "hi", `"hi"`},
		{"long string is cut", string(long), `"` + string(long[:60]) + `…"`},
		{"number as JSON", 4.5, `4.5`},
		{"object as JSON", map[string]any{"a": true}, `{"a":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describe(tt.in); got != tt.want {
				t.Errorf("describe = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestLooksNumeric(t *testing.T) {
	tests := map[string]bool{
		"0": true, "495": true, "-4.5": true, "+1": true, "1.": true, ".5": true, "1e3": true, "2.5E-3": true,
		"": false, "-": false, ".": false, "1e": false, "e3": false, "0x10": false, "1_000": false,
		"NaN": false, "Inf": false, "1,000": false, "12a": false, "2024-05-01": false,
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := looksNumeric(in); got != want {
				t.Errorf("looksNumeric(%q) = %v, want %v", in, got, want)
			}
		})
	}
}
