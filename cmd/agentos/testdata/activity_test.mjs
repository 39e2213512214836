// Unit tests of the web UI's activity log (bridge/ui/activity.js: newFeedLog,
// addEvent, interruptRunning), under Node's test runner, for
// TestWebUIActivityLog (webui_e2e_test.go). The log needs no DOM: the events
// here are shaped like the engine's (docs/engine.md, Observer events), with
// ids numbered as the engine numbers them: one by one within a run, from
// the clock in microseconds at the run's start.

import {test} from "node:test";
import assert from "node:assert/strict";

const {newFeedLog, addEvent, interruptRunning} = await import(new URL("../../../bridge/ui/activity.js", import.meta.url));

// engine is one engine run started at start (an ISO time): ev(type, fields,
// ms) publishes an event ms after the start, with the next id.
function engine(start) {
  const t0 = Date.parse(start);
  let id = t0 * 1000; // the seed: the clock in µs
  return {
    ev(type, fields = {}, ms = 0) {
      id++;
      return {id, type, at: new Date(t0 + ms).toISOString(), ...fields};
    },
    skip(n) {
      id += n; // events this feed never sees
    },
    get lastId() {
      return id;
    },
  };
}

const feedOf = (...events) => {
  const log = newFeedLog();
  for (const ev of events) addEvent(log, ev);
  return log;
};

// rows shows the log as [key or type, state, change ids…] rows, newest first.
const rows = (log) => log.entries.map((e) => [e.key || e.ev.type, e.state, ...e.changes.map((c) => c.ids[0])]);

test("a call's events and its changes share one row", () => {
  const a = engine("2026-11-21T10:00:00Z");
  const log = feedOf(
    a.ev("started", {call_id: "1", method: "data.create"}, 10),
    a.ev("graph.changed", {call_id: "1", op: "create", ids: ["n1"]}, 11),
    a.ev("completed", {call_id: "1", method: "data.create", latency_ms: 2}, 12));
  assert.deepEqual(rows(log), [["call:1", "ended", "n1"]]);
});

test("a replayed event is not shown twice", () => {
  const a = engine("2026-11-21T10:00:00Z");
  const s = a.ev("started", {call_id: "1"}, 10);
  const log = feedOf(s);
  assert.equal(addEvent(log, {...s}), false);
  assert.equal(addEvent(log, "not an event"), false);
  assert.equal(log.entries.length, 1);
});

test("a job adopts the changes it made before its first progress report", () => {
  // job.progress carries no latency_ms: the time guard must not drop them.
  const a = engine("2026-11-21T10:00:00Z");
  const log = feedOf(
    a.ev("graph.changed", {call_id: "j1", op: "create", ids: ["n1"]}, 100),
    a.ev("graph.changed", {call_id: "j1", op: "create", ids: ["n2"]}, 200),
    a.ev("job.progress", {call_id: "j1", capability: "count", data: {current: 1, total: 2}}, 300));
  assert.deepEqual(rows(log), [["job:j1", "running", "n1", "n2"]]);
});

test("a job without progress adopts its changes when it finishes", () => {
  const a = engine("2026-11-21T10:00:00Z");
  const log = feedOf(
    a.ev("graph.changed", {call_id: "j1", op: "create", ids: ["n1"]}, 100),
    a.ev("job.finished", {call_id: "j1", capability: "web.read", latency_ms: 250, data: {state: "completed"}}, 300));
  assert.deepEqual(rows(log), [["job:j1", "ended", "n1"]]);
});

test("a running call adopts no change made before it started", () => {
  // The guard of a started row is its own time (it has no latency_ms).
  const a = engine("2026-11-21T10:00:00Z");
  const log = feedOf(
    a.ev("graph.changed", {call_id: "5", op: "create", ids: ["old"]}, 100),
    a.ev("started", {call_id: "5"}, 5000));
  assert.deepEqual(rows(log), [["call:5", "running"], ["graph.changed", "ended"]]);
});

test("after an engine restart, rows of the earlier run take no events of the new one", () => {
  const a = engine("2026-11-21T10:00:00Z");
  const log = feedOf(
    a.ev("started", {call_id: "1", method: "capabilities.invoke"}, 10),
    a.ev("job.progress", {call_id: "j1", capability: "hang", data: {current: 1, total: 2}}, 20),
    a.ev("graph.changed", {call_id: "j2", op: "create", ids: ["a-j2"]}, 30));
  // Restarted a second later: ids go on from the clock, call ids from 1.
  const b = engine("2026-11-21T10:00:01Z");
  addEvent(log, b.ev("skills.changed", {ids: ["web-reader"]}, 5));
  assert.deepEqual(rows(log), [
    ["skills.changed", "ended"],
    ["graph.changed", "ended"],
    ["job:j1", "interrupted"],
    ["call:1", "interrupted"],
  ], "the new run's first event interrupts the earlier run's running rows");
  addEvent(log, b.ev("job.progress", {call_id: "j2", capability: "count", data: {current: 1, total: 3}}, 6));
  addEvent(log, b.ev("started", {call_id: "1", method: "data.create"}, 7));
  addEvent(log, b.ev("graph.changed", {call_id: "1", op: "create", ids: ["b-1"]}, 8));
  addEvent(log, b.ev("completed", {call_id: "1", method: "data.create", latency_ms: 1}, 9));
  addEvent(log, b.ev("graph.changed", {call_id: "j1", op: "create", ids: ["b-j1"]}, 10));
  addEvent(log, b.ev("job.finished", {call_id: "j1", capability: "hang", latency_ms: 1, data: {state: "completed"}}, 11));
  assert.deepEqual(rows(log), [
    ["job:j1", "ended", "b-j1"], // its own row, with its own change: not the earlier run's j1
    ["call:1", "ended", "b-1"], // the same: not the earlier run's call 1
    ["job:j2", "running"], // did not adopt the earlier run's change of j2
    ["skills.changed", "ended"],
    ["graph.changed", "ended"],
    ["job:j1", "interrupted"],
    ["call:1", "interrupted"],
  ]);
});

test("a restart is found across a lagged event", () => {
  const a = engine("2026-11-21T10:00:00Z");
  const log = feedOf(a.ev("started", {call_id: "1"}, 10));
  // The stream lost events, among them the restart: the lagged event's id
  // is the newest lost, a new run's, missed counts fewer than the ids between.
  const b = engine("2026-11-21T10:00:01Z");
  b.skip(3);
  addEvent(log, {id: b.lastId, type: "lagged", missed: 4, at: "2026-11-21T10:00:02Z"});
  // This run's call 1 started among the lost: its change is not the earlier call 1's.
  addEvent(log, b.ev("graph.changed", {call_id: "1", op: "create", ids: ["b-1"]}, 50));
  assert.deepEqual(rows(log), [["graph.changed", "ended"], ["lagged", "ended"], ["call:1", "interrupted"]]);
});

test("lost events of one run are not a restart", () => {
  const a = engine("2026-11-21T10:00:00Z");
  const log = feedOf(a.ev("started", {call_id: "1"}, 10));
  a.skip(5);
  addEvent(log, {id: a.lastId, type: "lagged", missed: 5, at: "2026-11-21T10:00:03Z"});
  // Ids skipped with no lagged event (a stream that leaves some out) are
  // below the clock: the same run too.
  a.skip(7);
  addEvent(log, a.ev("graph.changed", {call_id: "1", op: "update", ids: ["n1"]}, 20));
  addEvent(log, a.ev("completed", {call_id: "1", latency_ms: 15}, 25));
  assert.deepEqual(rows(log), [["lagged", "ended"], ["call:1", "ended", "n1"]]);
});

test("a call id started twice means a new run, even without an id jump", () => {
  const a = engine("2026-11-21T10:00:00Z");
  const log = feedOf(
    a.ev("started", {call_id: "1"}, 10),
    a.ev("started", {call_id: "2"}, 11),
    a.ev("completed", {call_id: "2", latency_ms: 1}, 12),
    a.ev("started", {call_id: "2"}, 13));
  assert.deepEqual(rows(log), [["call:2", "running"], ["call:2", "ended"], ["call:1", "interrupted"]]);
});

test("the engine going away interrupts the rows still running", () => {
  const a = engine("2026-11-21T10:00:00Z");
  const log = feedOf(
    a.ev("started", {call_id: "1"}, 10),
    a.ev("job.progress", {call_id: "j1", data: {current: 1, total: 2}}, 20),
    a.ev("started", {call_id: "2"}, 30),
    a.ev("completed", {call_id: "2", latency_ms: 1}, 31));
  const mark = log.lastId;
  // A job reports again while the health check is out: it is alive.
  addEvent(log, a.ev("job.progress", {call_id: "j1", data: {current: 2, total: 2}}, 40));
  assert.equal(interruptRunning(log, mark), true);
  assert.deepEqual(rows(log), [["call:2", "ended"], ["job:j1", "running"], ["call:1", "interrupted"]]);
  assert.equal(interruptRunning(log, mark), false, "nothing more to mark");
  // It was not gone after all (a slow health check): the call's next
  // events bring its row back, in the same run.
  addEvent(log, a.ev("graph.changed", {call_id: "1", op: "create", ids: ["n1"]}, 50));
  assert.deepEqual(rows(log)[2], ["call:1", "running", "n1"]);
  interruptRunning(log);
  addEvent(log, a.ev("completed", {call_id: "1", latency_ms: 45}, 55));
  assert.deepEqual(rows(log), [["call:2", "ended"], ["job:j1", "interrupted"], ["call:1", "ended", "n1"]]);
});
