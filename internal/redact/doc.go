// Package redact replaces secret values in text (DESIGN §11: secret values
// handed to a call are redacted from its errors, logs and events): a Set of
// the values handed out, by name, and Redact, which finds them as they are,
// escaped, line by line and clipped. It must not decide what is secret or
// keep values longer than the Set's owner does.
package redact
