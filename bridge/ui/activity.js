// The live activity feed: recent history from /observer/history, then the
// /observer/stream server-sent events. A call's started and completed
// events share one row (the row says "running" until the call ends); a
// job's progress updates its row too. A graph change names the call (or
// job) that made it by call_id: it is shown inside that call's row, and on
// a row of its own only when the call's row is not in the feed.
//
// Call ids (1, 2, …) and job ids (j1, …) start again when the engine
// restarts, so rows are matched only within one engine run (see newRun);
// a row still running when the engine goes away, or when events of a later
// run arrive, says "interrupted".
//
// The log (newFeedLog, addEvent, interruptRunning) needs no DOM, so it is
// tested under Node: cmd/agentos/testdata/activity_test.mjs.

import {api} from "./api.js";
import {h, replace, when, badge, num} from "./dom.js";

const MAX_ENTRIES = 200;
const MAX_CHANGES = 50; // kept per call row; the rest are counted
const SEARCH_BACK = 100; // how many recent rows a later event looks through for its call
const CLOCK_SLACK_MS = 50; // for comparing the engine's times, rounded to the millisecond

const feed = {
  log: newFeedLog(),
  status: "connecting", // connecting | live | reconnecting | error
  statusDetail: "",
  error: null, // why the history could not be loaded
  mounts: new Set(), // {list, opts}
  onEvent: new Set(),
  onStatus: new Set(),
  source: null,
  renderQueued: false,
};

/** start loads recent history and opens the stream. */
export async function startFeed() {
  try {
    const body = await api.observerHistory(50);
    for (const ev of body.events || []) add(ev, {quiet: true});
    if (body.last_id) feed.log.lastId = Math.max(feed.log.lastId, body.last_id);
  } catch (e) {
    feed.error = e;
    if (e.status === 503) setStatus("error", e.message);
  }
  queueRender();
  connect();
}

function connect() {
  const url = "/observer/stream" + (feed.log.lastId ? "?since=" + feed.log.lastId : "");
  const es = new EventSource(url);
  feed.source = es;
  es.onopen = () => setStatus("live", "");
  es.onmessage = (msg) => {
    let ev;
    try {
      ev = JSON.parse(msg.data);
    } catch {
      return; // not an event: nothing to show
    }
    add(ev);
  };
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (the bridge answered with an error status):
      // try again ourselves, resuming after the last event seen.
      setStatus("error", "The activity stream closed; reconnecting in 5 s.");
      es.close();
      setTimeout(connect, 5000);
    } else {
      setStatus("reconnecting", "Lost the activity stream; reconnecting…");
    }
  };
}

function setStatus(status, detail) {
  if (feed.status === status && feed.statusDetail === detail) return;
  feed.status = status;
  feed.statusDetail = detail;
  for (const fn of feed.onStatus) fn(status, detail);
}

export function feedStatus() {
  return {status: feed.status, detail: feed.statusDetail};
}

export function onFeedStatus(fn) {
  feed.onStatus.add(fn);
}

/** onEvent calls fn(event) for every event that arrives live. */
export function onEvent(fn) {
  feed.onEvent.add(fn);
}

/**
 * engineGone marks the rows still running as interrupted: the engine went
 * away (the page's health check says it is not running, or the bridge does
 * not answer), and with it the calls it was running. Only rows whose last
 * event is at or before mark (a feedMark() taken before asking) are marked:
 * a row that has moved since is alive. A row marked by mistake (the engine
 * was only slow to answer) runs again with its call's next event.
 */
export function engineGone(mark = Infinity) {
  if (interruptRunning(feed.log, mark)) queueRender();
}

/** feedMark is the id of the newest event the feed has seen, for engineGone. */
export function feedMark() {
  return feed.log.lastId;
}

function add(ev, {quiet = false} = {}) {
  if (!addEvent(feed.log, ev)) return;
  if (!quiet) {
    // Events flow again: the engine is back, whatever kept the history away.
    feed.error = null;
    for (const fn of feed.onEvent) {
      try {
        fn(ev);
      } catch (e) {
        reportError(e);
      }
    }
  }
  queueRender();
}

// ---------------------------------------------------------------- the log

/**
 * newFeedLog is an empty feed: entries are its rows, newest first, each
 * {key, ev, run, state, changes, dropped}; state is "running", "ended"
 * or "interrupted"; run is the engine run the row belongs to.
 */
export function newFeedLog() {
  return {entries: [], lastId: 0, lastAt: NaN, run: 0};
}

function keyOf(ev) {
  switch (ev.type) {
    case "started":
    case "completed":
    case "failed":
      return ev.call_id ? "call:" + ev.call_id : null;
    case "job.progress":
    case "job.log":
    case "job.finished":
      return ev.call_id ? "job:" + ev.call_id : null;
  }
  return null;
}

// open says whether a row may still take events of its call: it is running,
// or was marked interrupted but its engine run goes on.
const open = (log, e) => e.run === log.run && (e.state === "running" || e.state === "interrupted");

/**
 * addEvent puts ev into the log: into the row of its call, or a new row.
 * It returns false for what is not an event or was seen already (a replay
 * after reconnecting).
 */
export function addEvent(log, ev) {
  if (typeof ev !== "object" || ev === null || typeof ev.id !== "number") return false;
  if (ev.type !== "lagged" && ev.id <= log.lastId) return false;
  const key = keyOf(ev);
  if (newRun(log, ev) || (ev.type === "started" && key && log.entries.some((e) => e.run === log.run && e.key === key))) {
    // The second test is a backstop: one run starts each call once, so
    // a call id started again is a new run's.
    log.run++;
    interruptRunning(log);
  }
  log.lastId = Math.max(log.lastId, ev.id);
  if (ev.type !== "lagged") log.lastAt = Date.parse(ev.at);
  // An agent's steps are its job's progress too (that row shows them), and
  // the Runs view lays them out: no row of their own.
  if (ev.type === "agent.step") return true;
  const ends = ev.type === "completed" || ev.type === "failed" || ev.type === "job.finished";
  let merged = false;
  if (key && ev.type !== "started") {
    // The row of the same call that is still running, among recent ones.
    const entry = log.entries.find((e, j) => j < SEARCH_BACK && e.key === key && open(log, e));
    if (entry) {
      entry.ev = ev;
      entry.state = ends ? "ended" : "running";
      merged = true;
    }
  }
  if (ev.type === "graph.changed" && ev.call_id) {
    // Into the row of the call (or job) that made the change: it is still
    // running (a change comes before its call ends), in this engine run.
    const host = log.entries.find((e, j) => j < SEARCH_BACK && e.key && open(log, e) && e.ev.call_id === ev.call_id);
    if (host) {
      attachChange(host, ev);
      host.state = "running"; // if it was marked interrupted: it is not
      merged = true;
    }
  }
  if (!merged) {
    const running = ev.type === "started" || ev.type === "job.progress" || ev.type === "job.log";
    const entry = {key, ev, run: log.run, state: running ? "running" : "ended", changes: [], dropped: 0};
    if (key) adoptChanges(log, entry);
    log.entries.unshift(entry);
    if (log.entries.length > MAX_ENTRIES) log.entries.length = MAX_ENTRIES;
  }
  return true;
}

// newRun says whether ev comes from a later engine run than the event
// before it. Call and job ids start again at each run, but event ids do
// not: within a run the engine numbers its events one by one (a lagged
// event stands for the ones lost: its id is the newest of them, missed how
// many), and a run's numbers start from the clock in microseconds at its
// start, after the time of every event of the run before. So an event of
// a new run is one whose id is not the next one and is past the previous
// event's time. (The stream tells of a restart no other way: while the
// engine is away the bridge sends only comments, which EventSource does
// not pass on.) Both tests must hold, so that events of one run the
// stream skipped (their ids stay below the clock) are not taken for a
// restart.
function newRun(log, ev) {
  if (!log.lastId) return false; // the first event: nothing to compare
  const next = ev.type === "lagged" ? log.lastId + (ev.missed || 0) : log.lastId + 1;
  if (ev.id === next) return false;
  return !(ev.id <= log.lastAt * 1000); // a run's ids are above its start time in µs
}

/**
 * interruptRunning marks as interrupted the rows still running whose last
 * event is at or before mark; it returns whether it marked any.
 */
export function interruptRunning(log, mark = Infinity) {
  let any = false;
  for (const e of log.entries) {
    if (e.state === "running" && e.ev.id <= mark) {
      e.state = "interrupted";
      any = true;
    }
  }
  return any;
}

function attachChange(entry, ev) {
  entry.changes.push(ev);
  if (entry.changes.length > MAX_CHANGES) {
    entry.changes.shift();
    entry.dropped++;
  }
}

// startOf is when a row's call started, in ms since the epoch: a started
// event's own time, or an ended call's time less its latency. A job's
// progress does not say when the job started (before it, by how much is
// unknown): -Infinity.
function startOf(ev) {
  const at = Date.parse(ev.at);
  if (ev.type === "started") return at;
  if (typeof ev.latency_ms === "number") return at - ev.latency_ms;
  return -Infinity;
}

// adoptChanges moves into a new call row the changes that arrived before
// it, on rows of their own: a job's first event may come after its writes
// (a job without progress reports only when it has finished). Only changes
// of the same engine run (ids start again at each) made since the call
// started: the run is what keeps an earlier engine's changes out, the time
// a second guard.
function adoptChanges(log, entry) {
  const callID = entry.ev.call_id;
  const since = startOf(entry.ev) - CLOCK_SLACK_MS;
  for (let j = Math.min(log.entries.length, SEARCH_BACK) - 1; j >= 0; j--) {
    const e = log.entries[j];
    if (!e.key && e.run === log.run && e.ev.type === "graph.changed" && e.ev.call_id === callID &&
        !(Date.parse(e.ev.at) < since)) {
      attachChange(entry, e.ev);
      log.entries.splice(j, 1);
    }
  }
}

let reportError = (e) => {
  throw e;
};

/** setErrorReporter sets how the feed reports a failing listener. */
export function setErrorReporter(fn) {
  reportError = fn;
}

/**
 * mountFeed renders the feed into container and keeps it current until
 * the container leaves the document. opts.wide shows more detail.
 */
export function mountFeed(container, opts = {}) {
  const list = h("ol", {class: ["feed", opts.wide && "wide"], "aria-label": "Recent activity, newest first"});
  const m = {container, list, opts};
  feed.mounts.add(m);
  replace(container, list);
  renderInto(m);
}

function queueRender() {
  if (feed.renderQueued) return;
  feed.renderQueued = true;
  setTimeout(() => {
    feed.renderQueued = false;
    for (const m of feed.mounts) {
      if (!m.container.isConnected) {
        feed.mounts.delete(m);
        continue;
      }
      renderInto(m);
    }
  }, 30);
}

function renderInto(m) {
  const items = feed.log.entries.map((e) => row(e, m.opts));
  if (feed.error && feed.error.status === 503) {
    items.push(h("li", {class: "feed-error", role: "alert"}, "The engine is not running, so there is no activity to show; " +
      "it appears here as soon as the engine is back. (" + feed.error.message + ")"));
  } else if (feed.error) {
    items.push(h("li", {class: "feed-error", role: "alert"}, "Could not load earlier activity: " + feed.error.message));
  } else if (feed.log.entries.length === 0) {
    items.push(h("li", {class: "feed-empty"}, "No activity yet. Calls to the engine show up here as they happen."));
  }
  replace(m.list, items);
}

function label(ev) {
  if (ev.capability) return ev.capability;
  if (ev.method) return ev.method;
  return ev.type;
}

function outcome(entry, opts) {
  const ev = entry.ev;
  // "interrupted" is too long for the sidebar's badge: there, "stopped",
  // as the engine did (the badge's title says more).
  if (entry.state === "interrupted") return [opts.wide ? "interrupted" : "stopped", "interrupted"];
  switch (ev.type) {
    case "started":
      return ["running", "running"];
    case "completed":
      return ["ok", "ok"];
    case "failed":
      return [ev.error_kind || "failed", "failed"];
    case "graph.changed":
      return [ev.op || "changed", "changed"];
    case "skills.changed":
      return ["skills", "changed"];
    case "job.progress":
      return ["job", "running"];
    case "job.log":
      return ["log", "running"];
    case "job.finished": {
      // Named like a call's outcome, so the narrow feed's badge fits.
      const state = (ev.data && ev.data.state) || "finished";
      return [state === "completed" ? "ok" : state, ev.error ? "failed" : "ok"];
    }
    case "lagged":
      return ["lagged", "failed"];
  }
  return [ev.type, ""];
}

function shortId(id) {
  return id.length > 10 ? "…" + id.slice(-6) : id;
}

// changeShapes names what a change touched: its shapes, without "item".
function changeShapes(ev) {
  return (ev.shapes || []).filter((s) => s !== "item").slice(0, 3).join(", ") || "nodes";
}

// changeIDs links the first few nodes a change touched.
function changeIDs(ev, show) {
  const ids = ev.ids || [];
  return h("span", {class: "ids"},
    ids.slice(0, show).map((id) => h("a", {href: "#/node/" + encodeURIComponent(id), title: id}, shortId(id))),
    ids.length > show ? h("span", {class: "muted"}, `+${num(ids.length - show)}`) : null);
}

// changeList shows a call row's graph changes, newest first.
function changeList(entry, opts) {
  const show = opts.wide ? 10 : 3;
  const list = entry.changes.slice(-show).reverse();
  const more = entry.changes.length - list.length + entry.dropped;
  return h("ol", {class: "changes", "aria-label": "Graph changes this call made"},
    list.map((ev) => h("li", {class: "change", dataset: {type: ev.type, id: String(ev.id)}},
      badge(ev.op || "changed", "tone changed"), " ", changeShapes(ev), " ", changeIDs(ev, opts.wide ? 8 : 2))),
    more > 0 ? h("li", {class: "change more muted"}, `+${num(more)} earlier change${more === 1 ? "" : "s"}`) : null);
}

function row(entry, opts) {
  const ev = entry.ev;
  const [text, tone] = outcome(entry, opts);
  const meta = [];
  let main;
  let detail = null;
  switch (ev.type) {
    case "graph.changed":
      main = h("span", null, "graph ", changeShapes(ev));
      detail = changeIDs(ev, opts.wide ? 8 : 2);
      break;
    case "skills.changed":
      main = h("span", null, "skills reloaded");
      detail = h("span", {class: "ids"}, (ev.ids || []).join(", "));
      break;
    case "lagged":
      main = h("span", null, `missed ${num(ev.missed || 0)} events`);
      break;
    case "job.progress": {
      const d = ev.data || {};
      main = h("span", {class: "method"}, label(ev));
      const pct = d.total ? ` ${Math.round((100 * d.current) / d.total)}%` : "";
      detail = h("span", null, (d.message || "") + pct);
      break;
    }
    case "job.log": {
      const d = ev.data || {};
      main = h("span", {class: "method"}, label(ev));
      detail = h("span", null, `${d.level || "info"}: ${d.message || ""}`);
      break;
    }
    default:
      main = h("span", {class: "method"}, label(ev));
  }
  // The provider is detail: the wide feed shows it, the sidebar only names
  // the capability (the row's title has it too).
  if (ev.skill && opts.wide) meta.push(ev.provider ? `${ev.skill}/${ev.provider}` : ev.skill);
  if (ev.caller) meta.push(h("span", {class: "caller", title: "caller"}, ev.caller));
  if (ev.latency_ms !== undefined && entry.state === "ended") meta.push(h("span", {class: "latency"}, fmtLatency(ev.latency_ms)));
  const title = ev.skill ? `provider: ${ev.provider ? `${ev.skill}/${ev.provider}` : ev.skill}` : null;
  const dataset = {type: ev.type, id: String(ev.id)};
  if (entry.key) dataset.state = entry.state;
  return h("li", {class: ["event", "tone-" + tone], title, dataset},
    h("span", {class: "ev-time"}, when(ev.at, {timeOnly: true})),
    entry.state === "interrupted"
      ? h("span", {class: "badge tone interrupted", title: "Interrupted: the engine went away before this ended, so how it ended is not known."}, text)
      : badge(text, "tone " + tone),
    h("span", {class: "ev-main"}, main, detail ? " " : null, detail),
    meta.length ? h("span", {class: "ev-meta"}, meta.map((x, i) => [i ? " · " : null, x])) : null,
    ev.error ? h("span", {class: "ev-error"}, ev.error) : null,
    entry.changes.length ? changeList(entry, opts) : null);
}

function fmtLatency(ms) {
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}
