// Package jsonstr owns appending a Go string as a JSON string literal, the
// one hand-written JSON string encoder of the hot paths (graph documents,
// the MCP fast path). It escapes as encoding/json does: invalid UTF-8
// becomes U+FFFD, U+2028 and U+2029 are escaped, and, when asked, so are
// <, > and &. It must not grow into a JSON encoder: values other than
// strings are for encoding/json.
package jsonstr
