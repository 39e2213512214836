// Package jsonl reads and writes JSON-lines streams: one message a line,
// each line ending in "\n" (a "\r" before it is part of the terminator).
// It owns the framing only: bounded lines, the recovery from a line that is
// too long, a deadline for a line that has started, whole-line writes from
// many goroutines. It must not look inside a line (no JSON decoding) and
// imports no other agentos package.
package jsonl
