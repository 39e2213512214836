// agentos web UI: hash routes (#/shape/note, #/node/ID, #/search?q=,
// #/skills, #/capabilities, #/activity, #/runs, #/run/ID), a sidebar of shapes with live
// counts, and the activity feed. Read-only: it never writes to the graph.

import {api} from "./api.js";
import {h, replace, num} from "./dom.js";
import {registry, setShapes, plural, capitalize} from "./graph.js";
import {startFeed, mountFeed, onEvent, onFeedStatus, feedStatus, setErrorReporter, engineGone, feedMark} from "./activity.js";
import {
  overview, shapeView, nodeView, searchView, skillsView, capabilitiesView, activityView, notFoundView, timelineView, errorBox,
} from "./views.js";
import {runsView, runView} from "./runs.js";

const $ = (id) => document.getElementById(id);
const view = $("view");
const shapeList = $("shapes");
const searchForm = $("search-form");
const searchInput = $("search-input");
const showEmpty = $("show-empty");
const toasts = $("toasts");

// ---------------------------------------------------------------- errors

/** toast shows an error that belongs to no page (a background refresh). */
function toast(message) {
  const item = h("div", {class: "toast", role: "alert"},
    h("span", null, message),
    h("button", {type: "button", class: "close", "aria-label": "Dismiss", onclick: () => item.remove()}, "×"));
  toasts.append(item);
  while (toasts.children.length > 4) toasts.firstChild.remove();
}

function reportError(e) {
  toast((e && e.message) || String(e));
}

window.addEventListener("error", (e) => toast("Unexpected error in the UI: " + e.message));
window.addEventListener("unhandledrejection", (e) => toast("Unexpected error in the UI: " + ((e.reason && e.reason.message) || e.reason)));
setErrorReporter(reportError);

// ---------------------------------------------------------------- routes

const routes = [
  [/^$/, overview],
  [/^shape\/([^/]+)$/, shapeView, ["name"]],
  [/^node\/([^/]+)$/, nodeView, ["id"]],
  [/^search$/, searchView],
  [/^skills$/, skillsView],
  [/^capabilities$/, capabilitiesView],
  [/^activity$/, activityView],
  [/^runs$/, runsView],
  [/^run\/([^/]+)$/, runView, ["id"]],
  [/^timeline\/([^/]+)$/, timelineView, ["name"]],
];

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const qi = raw.indexOf("?");
  const path = (qi >= 0 ? raw.slice(0, qi) : raw).replace(/\/+$/, "");
  const query = Object.fromEntries(new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : ""));
  for (const [re, fn, names = []] of routes) {
    const m = path.match(re);
    if (!m) continue;
    const params = {query, hash: location.hash};
    names.forEach((n, i) => {
      try {
        params[n] = decodeURIComponent(m[i + 1]);
      } catch {
        params[n] = m[i + 1];
      }
    });
    return {fn, params, path};
  }
  return {fn: notFoundView, params: {query, hash: location.hash}, path};
}

let generation = 0;
let hooks = null; // the current page's live-update hooks

async function render(opts = {}) {
  const gen = ++generation;
  const {fn, params, path} = parseHash();
  hooks = null;
  markCurrent(path, params);
  const ctx = {
    refreshing: !!opts.refreshing,
    stale: () => gen !== generation,
    title: (t) => {
      if (gen === generation) document.title = `${t} · agentos`;
    },
    navigate: (hash) => {
      if (location.hash === hash) render();
      else location.hash = hash;
    },
    rerender: (o) => {
      if (gen === generation) render(o);
    },
    setSearch: (q) => {
      if (document.activeElement !== searchInput) searchInput.value = q;
    },
  };
  if (fn !== searchView && document.activeElement !== searchInput) searchInput.value = "";
  if (!opts.refreshing) window.scrollTo(0, 0);
  try {
    const got = await fn(view, params, ctx);
    if (gen === generation) hooks = got || null;
  } catch (e) {
    if (gen === generation) replace(view, errorBox("this page", e, () => render()));
  }
}

function markCurrent(path, params) {
  for (const a of document.querySelectorAll("[data-route]")) {
    if (a.dataset.route === path.split("/")[0]) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const shape = path.startsWith("shape/") ? params.name || decodeURIComponent(path.slice(6)) : null;
  for (const a of shapeList.querySelectorAll("a[data-shape]")) {
    if (a.dataset.shape === shape) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

window.addEventListener("hashchange", () => render());

// The skip link moves focus without touching the route in the hash.
document.querySelector(".skip").addEventListener("click", (e) => {
  e.preventDefault();
  view.focus();
});

// ---------------------------------------------------------------- sidebar

const SHOW_EMPTY = "agentos.showEmpty";
showEmpty.checked = localStorage.getItem(SHOW_EMPTY) === "1";
showEmpty.addEventListener("change", () => {
  localStorage.setItem(SHOW_EMPTY, showEmpty.checked ? "1" : "0");
  renderSidebar();
});

let shapesError = null;
let engineUp = true; // as /healthz last said

async function loadShapes() {
  try {
    setShapes(await api.shapes());
    shapesError = null;
  } catch (e) {
    shapesError = e;
  }
  renderSidebar();
  if (hooks && hooks.onShapes) hooks.onShapes();
}

function renderSidebar() {
  const totals = $("totals");
  if (shapesError) {
    replace(shapeList, h("li", null, errorBox("the shapes", shapesError, loadShapes)));
    replace(totals, "");
    return;
  }
  if (!registry.loaded) return;
  replace(totals, `${num(registry.totals.nodes)} nodes · ${num(registry.totals.edges)} edges`);
  const all = [...registry.byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  const empty = all.filter((s) => s.count === 0).length;
  $("show-empty-count").textContent = empty ? `(${empty})` : "";
  const current = parseHash();
  replace(shapeList, all.filter((s) => s.count > 0 || showEmpty.checked).map((s) =>
    h("li", null, h("a", {
      href: "#/shape/" + encodeURIComponent(s.name),
      class: ["shape-link", s.count === 0 && "is-empty"],
      dataset: {shape: s.name},
      title: s.description || null,
      "aria-current": current.fn === shapeView && current.params.name === s.name ? "page" : null,
    }, h("span", {class: "shape-name"}, capitalize(plural(s))), h("span", {class: "count"}, num(s.count))))));
  if (all.every((s) => s.count === 0) && !showEmpty.checked) {
    shapeList.append(h("li", {class: "muted small"}, "The graph is empty."));
  }
}

// Counts follow the graph: a burst of changes refreshes them once.
let countsTimer = 0;
function refreshCountsSoon() {
  clearTimeout(countsTimer);
  countsTimer = setTimeout(loadShapes, 400);
}

onEvent((ev) => {
  if (!engineUp) checkHealth();
  if (hooks && hooks.onEvent) hooks.onEvent(ev);
  if (ev.type === "graph.changed") {
    refreshCountsSoon();
    if (hooks && hooks.onGraphChanged) hooks.onGraphChanged(ev);
  } else if (ev.type === "skills.changed") {
    refreshCountsSoon(); // skills may bring shapes
  }
});

// ---------------------------------------------------------------- header

searchForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const q = searchInput.value.trim();
  const target = "#/search" + (q ? "?q=" + encodeURIComponent(q) : "");
  if (location.hash === target) render();
  else location.hash = target;
});

document.addEventListener("keydown", (e) => {
  if (e.key === "/" && !e.ctrlKey && !e.metaKey && !e.altKey && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) {
    e.preventDefault();
    searchInput.focus();
    searchInput.select();
  }
});

const statusEl = $("status");

function renderStatus() {
  const {status, detail} = feedStatus();
  let text, tone, title;
  if (!engineUp) {
    [text, tone, title] = ["engine stopped", "failed", "The engine is not running: the graph can be browsed, but activity, skills and capabilities need it (agentos start)."];
  } else if (status === "live") {
    [text, tone, title] = ["live", "ok", "Receiving activity as it happens."];
  } else if (status === "connecting") {
    [text, tone, title] = ["connecting…", "running", "Connecting to the activity stream."];
  } else {
    [text, tone, title] = ["reconnecting…", "failed", detail];
  }
  replace(statusEl, h("span", {class: ["dot", "tone-" + tone], "aria-hidden": "true"}), text);
  statusEl.title = title;
}

async function checkHealth() {
  const mark = feedMark();
  try {
    const body = await api.health();
    engineUp = body.engine !== false;
  } catch {
    engineUp = false; // no bridge: most often the engine that serves it is gone
  }
  // The calls the engine was running died with it: the feed stops calling
  // them running (only those that showed no life while we asked; one that
  // goes on after all says so with its next event).
  if (!engineUp) engineGone(mark);
  renderStatus();
}

onFeedStatus((status) => {
  renderStatus();
  if (status !== "live") checkHealth();
});

// ---------------------------------------------------------------- start

mountFeed($("feed"));
renderStatus();
checkHealth();
setInterval(() => {
  if (document.visibilityState === "visible") checkHealth();
}, 30000);
startFeed();
loadShapes().then(() => {
  // The first page waits for the shapes so that titles and columns are right.
  render();
});
