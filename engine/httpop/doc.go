// Package httpop is a skill's http.request op (DESIGN §7.1): one call's
// requests, connected only to addresses broker.CheckHTTPDial allows for the
// skill, checked on the resolved address when the socket connects (no DNS
// rebinding), again on every redirect, and never to the engine's own
// listeners; no proxy, capped bodies, errors that never repeat the URL.
//
// It does not decide the skill's permissions (the broker's gate and its
// CheckHTTPDial rules do) and holds nothing between calls.
package httpop
