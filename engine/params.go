package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/agentos/agentos/engine/wire"
)

// decodeParams decodes raw params into dst strictly: unknown keys and wrong
// types are errors that name the offending field, so a typo is never silently
// ignored.
func decodeParams(method string, raw json.RawMessage, dst any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	if !utf8.Valid(raw) {
		// encoding/json would turn the bad bytes into U+FFFD: an id would
		// then miss with a message echoing garbage, and text would be
		// stored altered. JSON text is UTF-8 (RFC 8259); say so instead.
		return wire.Errorf(wire.KindInvalid, "%s: params are not valid UTF-8; JSON text must be UTF-8 (was a file in another encoding sent as is?)", method)
	}
	if raw[0] != '{' {
		return wire.Errorf(wire.KindInvalid, "%s: params must be a JSON object, e.g. {\"id\": \"...\"}", method)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	// Numbers stay json.Number: the shapes package coerces them exactly,
	// so an int64 beyond 2^53 keeps every digit.
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return wire.Errorf(wire.KindInvalid, "%s: %s", method, describeDecodeError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return wire.Errorf(wire.KindInvalid, "%s: unexpected data after the params object", method)
	}
	return nil
}

func describeDecodeError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "params"
		}
		return fmt.Sprintf("param %q must be %s, not %s", field, jsonTypeName(te.Type.String()), te.Value)
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field ") {
		return "unknown param " + strings.TrimPrefix(msg, "json: unknown field ") + "; see system.schema for this method's params"
	}
	return "bad params: " + msg
}

func jsonTypeName(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["):
		return "an object"
	}
	return "a " + goType
}
