// The live activity feed: recent history from /observer/history, then the
// /observer/stream server-sent events. A call's started and completed
// events share one row (the row says "running" until the call ends); a
// job's progress updates its row too. A graph change names the call (or
// job) that made it by call_id: it is shown inside that call's row, and on
// a row of its own only when the call's row is not in the feed.

import {api} from "./api.js";
import {h, replace, when, badge, num} from "./dom.js";

const MAX_ENTRIES = 200;
const MAX_CHANGES = 50; // kept per call row; the rest are counted
const SEARCH_BACK = 100; // how many recent rows a later event looks through for its call

const feed = {
  entries: [], // newest first: {key, ev, pending, changes, dropped}
  lastId: 0,
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
    if (body.last_id) feed.lastId = Math.max(feed.lastId, body.last_id);
  } catch (e) {
    feed.error = e;
    if (e.status === 503) setStatus("error", e.message);
  }
  queueRender();
  connect();
}

function connect() {
  const url = "/observer/stream" + (feed.lastId ? "?since=" + feed.lastId : "");
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

function keyOf(ev) {
  switch (ev.type) {
    case "started":
    case "completed":
    case "failed":
      return ev.call_id ? "call:" + ev.call_id : null;
    case "job.progress":
    case "job.finished":
      return ev.call_id ? "job:" + ev.call_id : null;
  }
  return null;
}

function add(ev, {quiet = false} = {}) {
  if (typeof ev !== "object" || ev === null || typeof ev.id !== "number") return;
  if (ev.type !== "lagged" && ev.id <= feed.lastId) return; // seen already (a replay after reconnecting)
  feed.lastId = Math.max(feed.lastId, ev.id);
  const key = keyOf(ev);
  const ends = ev.type === "completed" || ev.type === "failed" || ev.type === "job.finished";
  let merged = false;
  if (key && ev.type !== "started") {
    // The row of the same call that is still running, among recent ones.
    const i = feed.entries.findIndex((e, j) => j < SEARCH_BACK && e.key === key && e.pending);
    if (i >= 0) {
      const entry = feed.entries[i];
      entry.ev = ev;
      entry.pending = !ends;
      merged = true;
    }
  }
  if (ev.type === "graph.changed" && ev.call_id) {
    // Into the row of the call (or job) that made the change: it is still
    // running (a change comes before its call ends). Only a running row,
    // because call ids start again when the engine restarts.
    const host = feed.entries.find((e, j) => j < SEARCH_BACK && e.key && e.pending && e.ev.call_id === ev.call_id);
    if (host) {
      attachChange(host, ev);
      merged = true;
    }
  }
  if (!merged) {
    const entry = {key, ev, pending: ev.type === "started" || ev.type === "job.progress", changes: [], dropped: 0};
    if (key) adoptChanges(entry);
    feed.entries.unshift(entry);
    if (feed.entries.length > MAX_ENTRIES) feed.entries.length = MAX_ENTRIES;
  }
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

function attachChange(entry, ev) {
  entry.changes.push(ev);
  if (entry.changes.length > MAX_CHANGES) {
    entry.changes.shift();
    entry.dropped++;
  }
}

// adoptChanges moves into a new call row the changes that arrived before
// it, on rows of their own: a job's first event may come after its writes
// (a job without progress reports only when it has finished).
function adoptChanges(entry) {
  const callID = entry.ev.call_id;
  // Only changes made since the call started: ids start again when the
  // engine restarts, so an older change may carry the same one.
  const started = entry.ev.latency_ms !== undefined ? Date.parse(entry.ev.at) - entry.ev.latency_ms - 50 : NaN;
  for (let j = Math.min(feed.entries.length, SEARCH_BACK) - 1; j >= 0; j--) {
    const e = feed.entries[j];
    if (!e.key && e.ev.type === "graph.changed" && e.ev.call_id === callID &&
        !(Date.parse(e.ev.at) < started)) {
      attachChange(entry, e.ev);
      feed.entries.splice(j, 1);
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
  const items = feed.entries.map((e) => row(e, m.opts));
  if (feed.error && feed.error.status === 503) {
    items.push(h("li", {class: "feed-error", role: "alert"}, "The engine is not running, so there is no activity to show; " +
      "it appears here as soon as the engine is back. (" + feed.error.message + ")"));
  } else if (feed.error) {
    items.push(h("li", {class: "feed-error", role: "alert"}, "Could not load earlier activity: " + feed.error.message));
  } else if (feed.entries.length === 0) {
    items.push(h("li", {class: "feed-empty"}, "No activity yet. Calls to the engine show up here as they happen."));
  }
  replace(m.list, items);
}

function label(ev) {
  if (ev.capability) return ev.capability;
  if (ev.method) return ev.method;
  return ev.type;
}

function outcome(entry) {
  const ev = entry.ev;
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
  const [text, tone] = outcome(entry);
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
    default:
      main = h("span", {class: "method"}, label(ev));
  }
  // The provider is detail: the wide feed shows it, the sidebar only names
  // the capability (the row's title has it too).
  if (ev.skill && opts.wide) meta.push(ev.provider ? `${ev.skill}/${ev.provider}` : ev.skill);
  if (ev.caller) meta.push(h("span", {class: "caller", title: "caller"}, ev.caller));
  if (ev.latency_ms !== undefined && !entry.pending) meta.push(h("span", {class: "latency"}, fmtLatency(ev.latency_ms)));
  const title = ev.skill ? `provider: ${ev.provider ? `${ev.skill}/${ev.provider}` : ev.skill}` : null;
  return h("li", {class: ["event", "tone-" + tone], title, dataset: {type: ev.type, id: String(ev.id)}},
    h("span", {class: "ev-time"}, when(ev.at, {timeOnly: true})),
    badge(text, "tone " + tone),
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
