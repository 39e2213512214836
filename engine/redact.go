package engine

import (
	"encoding/json"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/redact"
)

// Redaction of the secrets a call was handed (DESIGN §11). The engine records,
// per job, every value its skills got from the secrets.get op (secretGet), on
// the job and on each job above it: a nested call's secret may come back in
// its parent's error. What is written about a job — its error, the log and
// progress lines its worker sends, the runner's error with traceback and
// stderr — passes through the job's redactor first, which replaces each value
// with [redacted:NAME]. The runner applies it (broker.WithRedactor on the
// job's context) before the error reaches the engine's log, events and job
// records; completeJob applies it once more to whatever error the job ends
// with, so an error made on the way up is covered too.
//
// The result a caller gets is not redacted: it is what the caller asked the
// tool for. The copy a finished job keeps for jobs.get is (redactResult).

// recordSecret notes on j and every job above it that value was handed out.
func recordSecret(j *Job, name, value string) {
	for ; j != nil; j = j.parentJob {
		j.secrets.Add(name, value)
	}
}

// hasSecrets reports whether j or a job above it was handed a secret.
func (j *Job) hasSecrets() bool {
	for p := j; p != nil; p = p.parentJob {
		if p.secrets.Len() > 0 {
			return true
		}
	}
	return false
}

// redact replaces in s every secret handed to j or a job above it.
func (j *Job) redact(s string) string {
	if j == nil {
		return s
	}
	var sets []*redact.Set
	for p := j; p != nil; p = p.parentJob {
		sets = append(sets, p.secrets)
	}
	return redact.Redact(s, sets...)
}

// redactError is err with its message redacted for j; its kind stays (the
// engine decides on kinds, never on text). err itself is returned when
// nothing in it was secret.
func (j *Job) redactError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	red := j.redact(msg)
	if red == msg {
		return err
	}
	if we, ok := err.(*wire.Error); ok { //nolint:errorlint // only an unwrapped one keeps its code
		out := *we
		out.Message = red
		return &out
	}
	return wire.Errorf(KindOf(err), "%s", red)
}

// redactResult is the result j keeps for jobs.get, without j's secrets. The
// marks are plain JSON string text, so redacting JSON text leaves it JSON;
// should a value have spanned JSON syntax, the result is replaced by a note.
func (j *Job) redactResult(res json.RawMessage) json.RawMessage {
	if len(res) == 0 || !j.hasSecrets() {
		return res
	}
	red := j.redact(string(res))
	if red == string(res) {
		return res
	}
	if !json.Valid([]byte(red)) {
		return json.RawMessage(`{"redacted":"the result held a secret handed to the job, and is not kept"}`)
	}
	return json.RawMessage(red)
}
