// The live activity feed: recent history from /observer/history, then the
// /observer/stream server-sent events. A call's started and completed
// events share one row (the row says "running" until the call ends); a
// job's progress updates its row too.

import {api} from "./api.js";
import {h, replace, when, badge, num} from "./dom.js";

const MAX_ENTRIES = 200;

const feed = {
  entries: [], // newest first: {key, ev, started, pending}
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
    const i = feed.entries.findIndex((e, j) => j < 100 && e.key === key && e.pending);
    if (i >= 0) {
      const entry = feed.entries[i];
      entry.ev = ev;
      entry.pending = !ends;
      merged = true;
    }
  }
  if (!merged) {
    feed.entries.unshift({key, ev, pending: ev.type === "started" || ev.type === "job.progress"});
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
    case "job.finished":
      return [(ev.data && ev.data.state) || "finished", ev.error ? "failed" : "ok"];
    case "lagged":
      return ["lagged", "failed"];
  }
  return [ev.type, ""];
}

function shortId(id) {
  return id.length > 10 ? "…" + id.slice(-6) : id;
}

function row(entry, opts) {
  const ev = entry.ev;
  const [text, tone] = outcome(entry);
  const meta = [];
  let main;
  let detail = null;
  switch (ev.type) {
    case "graph.changed": {
      const ids = ev.ids || [];
      const show = opts.wide ? 8 : 2;
      main = h("span", null, "graph ", (ev.shapes || []).filter((s) => s !== "item").slice(0, 3).join(", ") || "nodes");
      detail = h("span", {class: "ids"},
        ids.slice(0, show).map((id) => h("a", {href: "#/node/" + encodeURIComponent(id), title: id}, shortId(id))),
        ids.length > show ? h("span", {class: "muted"}, `+${num(ids.length - show)}`) : null);
      break;
    }
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
  if (ev.skill) meta.push(ev.provider ? `${ev.skill}/${ev.provider}` : ev.skill);
  if (ev.caller) meta.push(h("span", {class: "caller", title: "caller"}, ev.caller));
  if (ev.latency_ms !== undefined && !entry.pending) meta.push(h("span", {class: "latency"}, fmtLatency(ev.latency_ms)));
  return h("li", {class: ["event", "tone-" + tone], dataset: {type: ev.type, id: String(ev.id)}},
    h("span", {class: "ev-time"}, when(ev.at, {timeOnly: true})),
    badge(text, "tone " + tone),
    h("span", {class: "ev-main"}, main, detail ? " " : null, detail),
    meta.length ? h("span", {class: "ev-meta"}, meta.map((x, i) => [i ? " · " : null, x])) : null,
    ev.error ? h("span", {class: "ev-error"}, ev.error) : null);
}

function fmtLatency(ms) {
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}
