// The pages of the UI, one function per route. Each renders into the main
// element and may return hooks for live updates. ctx.stale() turns true
// once the user has gone elsewhere: answers that arrive late are dropped.

import {api} from "./api.js";
import {h, replace, marked, when, num, badge, isDateOnly} from "./dom.js";
import {
  registry, shapeOf, titleOf, subtitleOf, titleField, nodeLink, shapeBadges, value, columns,
  fieldDef, relationNames, plural, capitalize,
} from "./graph.js";
import {mountFeed, feedStatus} from "./activity.js";
import {neighbourhood, overviewMap} from "./map.js";

const PAGE = 50;

export function errorBox(what, err, retry) {
  const facts = [err.status ? "HTTP " + err.status : null, err.kind || null].filter(Boolean).join(" · ");
  return h("div", {class: "error-box", role: "alert"},
    h("strong", null, "Could not load " + what + "."),
    h("p", null, err.message || String(err)),
    facts ? h("p", {class: "muted small"}, facts) : null,
    retry ? h("button", {type: "button", onclick: retry}, "Try again") : null);
}

function loading(text = "Loading…") {
  return h("p", {class: "loading muted", "aria-busy": "true"}, text);
}

// ---------------------------------------------------------------- overview

export async function overview(view, _params, ctx) {
  ctx.title("Overview");
  const shapes = [...registry.byName.values()].filter((s) => s.count > 0).sort((a, b) => b.count - a.count);
  const drawing = h("section", {class: "panel map-panel", "aria-labelledby": "map-h"},
    h("h2", {id: "map-h"}, "How it connects"), loading("Drawing the graph…"));
  api.graph().then((ov) => {
    if (ctx.stale()) return;
    const m = overviewMap(ov);
    replace(drawing, h("h2", {id: "map-h"}, "How it connects"),
      m ? [h("p", {class: "muted small"}, "Shapes sized by how many nodes they have, linked by the labels that connect them, with counts. Pick a shape to browse it."), m.svg, m.table]
        : h("p", {class: "empty"}, "Nothing to draw yet."));
  }, (e) => {
    if (!ctx.stale()) replace(drawing, h("h2", {id: "map-h"}, "How it connects"), errorBox("the drawing", e, () => ctx.rerender()));
  });
  replace(view,
    h("header", {class: "page-head"},
      h("h1", null, "Your graph"),
      h("p", {class: "muted"}, `${num(registry.totals.nodes)} nodes and ${num(registry.totals.edges)} edges. ` +
        "Pick a shape to browse its nodes, or search everything (press / to jump to the search box).")),
    shapes.length
      ? h("ul", {class: "cards"}, shapes.map((s) => h("li", null,
        h("a", {href: "#/shape/" + encodeURIComponent(s.name), class: "card"},
          h("span", {class: "card-title"}, capitalize(plural(s))),
          h("span", {class: "card-count"}, num(s.count)),
          h("span", {class: "card-desc muted"}, s.description || "")))))
      : h("p", {class: "empty"}, registry.loaded
        ? "The graph is empty. Nodes that skills and agents write show up here."
        : "Loading shapes…"),
    shapes.length ? drawing : null);
  return {onShapes: () => ctx.rerender({refreshing: true})};
}

// ---------------------------------------------------------------- a shape's nodes

// Where each page of a listing came from, so Previous works with back,
// forward and reload: key "shape|order|cursor" -> {prev, page}.
const pagesKey = "agentos.pages";
function pageMemo() {
  try {
    return JSON.parse(sessionStorage.getItem(pagesKey) || "{}");
  } catch {
    return {};
  }
}
function rememberPage(key, entry) {
  let m = pageMemo();
  if (Object.keys(m).length > 500) m = {};
  m[key] = entry;
  try {
    sessionStorage.setItem(pagesKey, JSON.stringify(m));
  } catch {
    // storage full or off: Previous falls back to First page
  }
}

export async function shapeView(view, params, ctx) {
  const name = params.name;
  const {order = "", cursor = ""} = params.query;
  const shape = registry.byName.get(name);
  ctx.title(capitalize(shape ? plural(shape) : name));
  const memoKey = (c) => `${name}|${order}|${c}`;
  const here = cursor ? pageMemo()[memoKey(cursor)] : {prev: null, page: 0};

  const notice = h("div", {class: "notice", hidden: true, role: "status"});
  const body = h("div", {class: "table-wrap"}, loading());
  const pager = h("nav", {class: "pager", "aria-label": "Pages"});
  const count = h("span", {class: "muted"}, shape ? `${num(shape.count)} ${shape.count === 1 ? shape.name : plural(shape)}` : "");
  replace(view,
    h("header", {class: "page-head"},
      h("h1", null, capitalize(shape ? plural(shape) : name), " ", count),
      shape && shape.description ? h("p", {class: "muted"}, shape.description) : null,
      dateFields(shape).length ? h("p", {class: "small"}, "Timeline by ", dateFields(shape).map((f, i) => [i ? ", " : "",
        h("a", {href: `#/timeline/${encodeURIComponent(name)}?field=${encodeURIComponent(f)}`}, f)])) : null),
    notice, body, pager);

  const go = (q) => ctx.navigate(`#/shape/${encodeURIComponent(name)}` + query(q));
  let page;
  try {
    page = await api.nodes(name, {limit: PAGE, cursor, order});
  } catch (e) {
    if (ctx.stale()) return;
    replace(body, errorBox(`the ${name} nodes`, e, () => ctx.rerender()));
    if (cursor) replace(pager, h("button", {type: "button", onclick: () => go({order})}, "First page"));
    return;
  }
  if (ctx.stale()) return;
  const nodes = page.nodes || [];
  if (nodes.length === 0) {
    replace(body, h("p", {class: "empty"}, cursor ? "No more nodes." : `No ${shape ? plural(shape) : name} yet.`));
  } else {
    replace(body, nodeTable(shape, nodes, order, (o) => go({order: o})));
  }

  const pageNo = here ? here.page : null;
  const first = pageNo === null ? null : pageNo * PAGE + 1;
  const buttons = [];
  if (cursor) {
    if (here && here.prev !== null) {
      buttons.push(h("button", {type: "button", onclick: () => go({order, cursor: here.prev})}, "← Previous"));
    } else {
      buttons.push(h("button", {type: "button", onclick: () => go({order})}, "⇤ First page"));
    }
  }
  if (nodes.length) {
    const range = first === null ? `${num(nodes.length)} shown` : `${num(first)}–${num(first + nodes.length - 1)}`;
    buttons.push(h("span", {class: "range muted"}, range, shape ? ` of ${num(shape.count)}` : ""));
  }
  if (page.cursor) {
    buttons.push(h("button", {type: "button", class: "next", onclick: () => {
      rememberPage(memoKey(page.cursor), {prev: cursor, page: pageNo === null ? null : pageNo + 1});
      go({order, cursor: page.cursor});
    }}, "Next →"));
  }
  replace(pager, buttons);

  return {
    onGraphChanged(ev) {
      if (!(ev.shapes || []).includes(name)) return;
      replace(notice, `Some ${shape ? plural(shape) : name} changed since this page loaded. `,
        h("button", {type: "button", onclick: () => ctx.rerender()}, "Refresh"));
      notice.hidden = false;
    },
    onShapes() {
      const s = registry.byName.get(name);
      if (s) replace(count, `${num(s.count)} ${s.count === 1 ? s.name : plural(s)}`);
    },
  };
}

function query(q) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v) p.set(k, v);
  const s = p.toString();
  return s ? "?" + s : "";
}

function nodeTable(shape, nodes, order, sortBy) {
  const cols = columns(shape, nodes);
  const tf = titleField(shape);
  const sortable = (field, text, firstDesc) => {
    const dir = order === field ? "ascending" : order === "-" + field ? "descending" : null;
    const next = dir === "ascending" ? "-" + field : dir === "descending" ? "" : firstDesc ? "-" + field : field;
    return h("th", {scope: "col", "aria-sort": dir || "none"},
      h("button", {type: "button", class: "sort", title: `Sort by ${text}`, onclick: () => sortBy(next)},
        text, h("span", {class: "sort-mark", "aria-hidden": "true"}, dir === "ascending" ? " ↑" : dir === "descending" ? " ↓" : "")));
  };
  return h("table", {class: "nodes"},
    h("thead", null, h("tr", null,
      tf ? sortable(tf, tf, false) : h("th", {scope: "col"}, "title"),
      cols.map((c) => sortable(c.name, c.name, c.type === "datetime")),
      sortable("updated_at", "updated", true))),
    h("tbody", null, nodes.map((n) => {
      const link = nodeLink(n);
      return h("tr", {onclick: (e) => {
        if (e.target.closest("a, button") || window.getSelection().toString()) return;
        link.click();
      }},
      h("td", {class: "title-cell"}, link),
      cols.map((c) => h("td", null, value((n.fields || {})[c.name], c, {compact: true}))),
      h("td", {class: "nowrap"}, when(n.updated_at)));
    })));
}

// ---------------------------------------------------------------- one node

const EDGE_CAP = 200;

export async function nodeView(view, params, ctx) {
  const id = params.id;
  ctx.title(id);
  if (!ctx.refreshing) replace(view, loading());
  const depth = params.query.depth === "2" ? 2 : 1;
  if (opened.id !== id) opened = {id, keys: new Set()};
  const [nodeR, nbR, histR, mapR] = await Promise.allSettled([api.node(id), api.neighbors(id), api.history(id),
    depth === 1 ? null : api.neighbors(id, depth)]);
  if (ctx.stale()) return;
  if (nodeR.status === "rejected") {
    replace(view, errorBox("node " + id, nodeR.reason, () => ctx.rerender()));
    return;
  }
  const node = nodeR.value;
  const neighbors = new Map();
  if (nbR.status === "fulfilled") for (const n of nbR.value.nodes || []) neighbors.set(n.id, n);
  const title = titleOf(node);
  ctx.title(title);
  const shape = shapeOf(node);
  const sub = subtitleOf(node);

  replace(view,
    h("nav", {class: "crumbs", "aria-label": "Breadcrumb"},
      shape ? h("a", {href: "#/shape/" + encodeURIComponent(shape.name)}, capitalize(plural(shape))) : "node",
      " / ", h("span", {"aria-current": "page"}, title)),
    h("header", {class: "page-head"},
      h("h1", null, title),
      h("p", {class: "node-meta"}, sub ? [h("span", {class: "subtitle"}, sub), " "] : null, shapeBadges(node),
        " ", h("code", {class: "id", title: "node id"}, node.id)),
      h("p", {class: "muted small"}, "created ", when(node.created_at), " · updated ", when(node.updated_at),
        node.deleted_at ? [" · ", badge("deleted", "tone failed"), " ", when(node.deleted_at)] : null)),
    h("section", {class: "panel", "aria-labelledby": "values-h"},
      h("h2", {id: "values-h"}, "Values"), valuesTable(node)),
    neighbourhoodPanel(node, depth === 1 ? nbR : mapR, depth, ctx),
    h("section", {class: "panel", "aria-labelledby": "edges-h"},
      h("h2", {id: "edges-h"}, "Links ", h("span", {class: "muted"}, num((node.edges || []).length))),
      nbR.status === "rejected" ? errorBox("the neighbours' names", nbR.reason, () => ctx.rerender()) : null,
      edgeList(node, neighbors)),
    h("section", {class: "panel", "aria-labelledby": "history-h"},
      h("h2", {id: "history-h"}, "History"),
      histR.status === "rejected"
        ? errorBox("the history", histR.reason, () => ctx.rerender())
        : historyList(node, histR.value.changes || [], neighbors)));

  let timer = 0;
  return {
    onGraphChanged(ev) {
      if (!(ev.ids || []).includes(id)) return;
      clearTimeout(timer);
      timer = setTimeout(() => ctx.rerender({refreshing: true}), 300);
    },
  };
}

// The groups of a large neighbourhood the user opened, for the node shown.
let opened = {id: "", keys: new Set()};

function neighbourhoodPanel(node, nbR, depth, ctx) {
  const depthLink = (d) => d === depth
    ? h("span", {class: "depth-current", "aria-current": "true"}, d === 1 ? "1 step" : "2 steps")
    : h("a", {href: `#/node/${encodeURIComponent(node.id)}${d === 2 ? "?depth=2" : ""}`}, d === 1 ? "1 step" : "2 steps");
  const head = h("h2", {id: "map-h"}, "Neighbourhood ",
    h("span", {class: "map-depth small", role: "group", "aria-label": "How far out"}, depthLink(1), " · ", depthLink(2)));
  if (nbR.status === "rejected") return h("section", {class: "panel map-panel", "aria-labelledby": "map-h"}, head, errorBox("the neighbourhood", nbR.reason, () => ctx.rerender()));
  const m = neighbourhood(node, nbR.value, {depth, opened: opened.keys, onOpen: (key) => {
    opened.keys.add(key);
    ctx.rerender({refreshing: true});
  }});
  if (m.counts.nodes === 0) return h("section", {class: "panel map-panel", "aria-labelledby": "map-h"}, head, h("p", {class: "empty"}, "No links to other nodes."));
  return h("section", {class: "panel map-panel", "aria-labelledby": "map-h"}, head,
    h("p", {class: "muted small"}, `${num(m.counts.nodes)} ${m.counts.nodes === 1 ? "node" : "nodes"} within ${depth === 1 ? "one step" : "two steps"}`,
      m.counts.groups ? `; more than ${num(200)}, so they are grouped by shape: open a group to see its nodes` : "", ". Click a node to go there."),
    m.svg, m.legend, m.alt);
}

// ---------------------------------------------------------------- timeline

/** dateFields are a shape's single datetime fields, which a timeline can follow. */
function dateFields(shape) {
  return Object.values((shape && shape.fields) || {}).filter((f) => f.type === "datetime" && !f.array).map((f) => f.name).sort();
}

const dayHead = new Intl.DateTimeFormat(undefined, {weekday: "short", year: "numeric", month: "short", day: "numeric", timeZone: "UTC"});
const localDay = new Intl.DateTimeFormat("en-CA", {year: "numeric", month: "2-digit", day: "2-digit"});

/** dayOf is the calendar day a value falls on: a date without a time of
 * day (stored as midnight UTC, dom.js) as written, never shifted by a time
 * zone; a time on the viewer's own calendar. */
function dayOf(v) {
  if (isDateOnly(v)) return v.slice(0, 10);
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? "" : localDay.format(d);
}


export async function timelineView(view, params, ctx) {
  const name = params.name;
  const shape = registry.byName.get(name);
  const fields = dateFields(shape);
  const field = params.query.field && fields.includes(params.query.field) ? params.query.field : fields[0];
  ctx.title(`${capitalize(shape ? plural(shape) : name)} by ${field || "date"}`);
  const body = h("div", null, loading());
  replace(view,
    h("nav", {class: "crumbs", "aria-label": "Breadcrumb"},
      h("a", {href: "#/shape/" + encodeURIComponent(name)}, capitalize(shape ? plural(shape) : name)), " / ",
      h("span", {"aria-current": "page"}, "timeline")),
    h("header", {class: "page-head"},
      h("h1", null, `${capitalize(shape ? plural(shape) : name)} by ${field || "date"}`),
      fields.length > 1 ? h("p", {class: "small"}, "By ", fields.map((f, i) => [i ? " · " : "", f === field
        ? h("span", {"aria-current": "true"}, f)
        : h("a", {href: `#/timeline/${encodeURIComponent(name)}?field=${encodeURIComponent(f)}`}, f)])) : null),
    body);
  if (!field) {
    replace(body, h("p", {class: "empty"}, `${capitalize(shape ? plural(shape) : name)} have no date field to follow.`));
    return null;
  }
  let page;
  try {
    page = await api.nodes(name, {limit: 1000, order: field});
  } catch (e) {
    if (!ctx.stale()) replace(body, errorBox(`the ${name} nodes`, e, () => ctx.rerender()));
    return null;
  }
  if (ctx.stale()) return null;
  const dated = (page.nodes || []).filter((n) => (n.fields || {})[field]);
  const days = new Map();
  for (const n of dated) {
    const day = dayOf(n.fields[field]);
    if (!days.has(day)) days.set(day, []);
    days.get(day).push(n);
  }
  const order = [...days.keys()].sort();
  replace(body, dated.length
    ? h("ol", {class: "timeline"}, order.map((day) => h("li", {class: "timeline-day"},
      h("h2", {class: "timeline-date"}, h("time", {datetime: day}, dayHead.format(new Date(day + "T00:00:00Z")))),
      h("ul", null, days.get(day).map((n) => h("li", null, nodeLink(n), " ",
        isDateOnly(n.fields[field]) ? null : h("span", {class: "muted small"}, when(n.fields[field], {timeOnly: true}))))))))
    : h("p", {class: "empty"}, `No ${shape ? plural(shape) : name} with a ${field} yet.`),
    page.cursor ? h("p", {class: "muted small"}, "The first 1,000 are shown.") : null);
  let timer = 0;
  return {
    onGraphChanged(ev) {
      if (!(ev.shapes || []).includes(name)) return;
      clearTimeout(timer);
      timer = setTimeout(() => ctx.rerender({refreshing: true}), 300);
    },
  };
}

function valuesTable(node) {
  const f = node.fields || {};
  const tf = titleField(shapeOf(node));
  const keys = Object.keys(f).sort((a, b) => (a === tf ? -1 : b === tf ? 1 : a.localeCompare(b)));
  if (keys.length === 0) return h("p", {class: "empty"}, "This node has no values.");
  return h("table", {class: "values"},
    h("tbody", null, keys.map((k) => h("tr", null,
      h("th", {scope: "row"}, k),
      h("td", null, value(f[k], fieldDef(node, k)))))));
}

function edgeList(node, neighbors) {
  const edges = [...(node.edges || [])].sort((a, b) =>
    (a.from === node.id ? 0 : 1) - (b.from === node.id ? 0 : 1) || a.label.localeCompare(b.label) || a.created_at.localeCompare(b.created_at));
  if (edges.length === 0) return h("p", {class: "empty"}, "No links to other nodes.");
  const list = h("ul", {class: "edges"});
  const render = (n) => replace(list, edges.slice(0, n).map((e) => {
    const out = e.from === node.id;
    const otherId = out ? e.to : e.from;
    const other = neighbors.get(otherId);
    return h("li", {class: "edge"},
      h("span", {class: ["dir", out ? "out" : "in"], title: out ? "outgoing" : "incoming"}, out ? "→" : "←"),
      h("span", {class: "label"}, e.label),
      other ? nodeLink(other) : h("a", {href: "#/node/" + encodeURIComponent(otherId), class: "node-link"}, otherId),
      other ? h("span", {class: "edge-shapes"}, badge((other.shapes || [])[0] || "node", "shape")) : null,
      h("span", {class: "muted small"}, when(e.created_at)));
  }));
  render(EDGE_CAP);
  const more = edges.length > EDGE_CAP
    ? h("button", {type: "button", onclick: (ev) => {
      render(edges.length);
      ev.currentTarget.remove();
    }}, `Show all ${num(edges.length)} links`)
    : null;
  return [list, more];
}

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

function historyList(node, changes, neighbors) {
  if (changes.length === 0) return h("p", {class: "empty"}, "No recorded changes.");
  const rels = relationNames(node);
  const show = (k, v) => {
    if (v === undefined) return h("span", {class: "muted"}, "—");
    const ids = Array.isArray(v) ? v : [v];
    if (rels.has(k) && ids.every((x) => typeof x === "string" && ULID.test(x))) {
      return h("span", {class: "chips"}, ids.map((x) => {
        const n = neighbors.get(x);
        return n ? nodeLink(n) : h("a", {href: "#/node/" + encodeURIComponent(x), class: "node-link"}, x);
      }));
    }
    return value(v, fieldDef(node, k));
  };
  return h("ol", {class: "history", reversed: true}, [...changes].reverse().map((c) => {
    const before = c.before || {};
    const after = c.after || {};
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
      .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
    return h("li", {class: "change"},
      h("p", {class: "change-head"}, badge(c.op, "op"), " by ", h("strong", null, c.actor || "unknown"), " · ", when(c.at),
        h("span", {class: "muted small"}, " #" + c.seq)),
      keys.length
        ? h("table", {class: "diff"},
          h("thead", null, h("tr", null, h("th", {scope: "col"}, "field"),
            c.before ? h("th", {scope: "col"}, "before") : null, h("th", {scope: "col"}, c.before ? "after" : "value"))),
          h("tbody", null, keys.map((k) => h("tr", null,
            h("th", {scope: "row"}, k),
            c.before ? h("td", {class: "before"}, show(k, before[k])) : null,
            h("td", {class: "after"}, show(k, after[k]))))))
        : null);
  }));
}

// ---------------------------------------------------------------- search

export async function searchView(view, params, ctx) {
  const q = (params.query.q || "").trim();
  const shapeName = params.query.shape || "";
  ctx.title(q ? `Search: ${q}` : "Search");
  ctx.setSearch(q);
  const select = h("select", {id: "search-shape", onchange: () => ctx.navigate("#/search" + query({q, shape: select.value}))},
    h("option", {value: ""}, "all shapes"),
    [...registry.byName.values()].filter((s) => s.count > 0 || s.name === shapeName)
      .map((s) => h("option", {value: s.name, selected: s.name === shapeName}, s.name)));
  const results = h("div", {class: "results"});
  replace(view,
    h("header", {class: "page-head"},
      h("h1", null, q ? ["Search for ", h("q", null, q)] : "Search"),
      h("p", {class: "filters"}, h("label", {for: "search-shape"}, "In "), select)),
    results);
  if (!q) {
    replace(results, h("p", {class: "empty"}, "Type words in the search box above; every word must match (prefixes count)."));
    return;
  }
  replace(results, loading("Searching…"));
  let body;
  try {
    body = await api.search(q, {shape: shapeName, limit: 20});
  } catch (e) {
    if (!ctx.stale()) replace(results, errorBox("search results", e, () => ctx.rerender()));
    return;
  }
  if (ctx.stale()) return;
  const hits = body.hits || [];
  if (hits.length === 0) {
    replace(results, h("p", {class: "empty"}, "Nothing matches ", h("q", null, q), shapeName ? ` among ${shapeName} nodes.` : "."));
    return;
  }
  replace(results,
    h("p", {class: "muted small"}, hits.length === 20 ? "The 20 best matches." : `${hits.length} ${hits.length === 1 ? "match" : "matches"}.`),
    h("ol", {class: "hits"}, hits.map((hit) => h("li", {class: "hit"},
      h("p", {class: "hit-head"}, nodeLink(hit.node), " ", shapeBadges(hit.node),
        h("span", {class: "hit-when muted small"}, "updated ", when(hit.node.updated_at))),
      hit.snippet ? h("p", {class: "snippet"}, marked(hit.snippet)) : null))));
}

// ---------------------------------------------------------------- skills and capabilities

function permissions(p) {
  const entries = Object.entries(p || {});
  if (entries.length === 0) return h("span", {class: "muted"}, "none");
  return h("span", {class: "chips"}, entries.map(([k, v]) => h("span", {class: "chip"}, `${k}: ${[].concat(v).join(", ")}`)));
}

export async function skillsView(view, _params, ctx) {
  ctx.title("Skills");
  replace(view, h("header", {class: "page-head"}, h("h1", null, "Skills")), loading());
  let body;
  try {
    body = await api.skills();
  } catch (e) {
    if (!ctx.stale()) replace(view, h("header", {class: "page-head"}, h("h1", null, "Skills")), errorBox("the skills", e, () => ctx.rerender()));
    return;
  }
  if (ctx.stale()) return;
  const skills = body.skills || [];
  replace(view,
    h("header", {class: "page-head"}, h("h1", null, "Skills ", h("span", {class: "muted"}, num(skills.length))),
      h("p", {class: "muted"}, "Installed skills and the tools they give agents.")),
    skills.length === 0 ? h("p", {class: "empty"}, "No skills installed.") : null,
    skills.map((s) => h("section", {class: "panel skill", "aria-labelledby": "skill-" + s.id},
      h("h2", {id: "skill-" + s.id}, s.name || s.id, " ", badge(s.source || "skill", "enum"),
        s.license ? [" ", badge(s.license, "secondary")] : null),
      s.description ? h("p", null, s.description) : null,
      s.error ? h("p", {class: "ev-error"}, s.error) : null,
      h("dl", {class: "facts"},
        h("dt", null, "permissions"), h("dd", null, permissions(s.permissions)),
        h("dt", null, "capabilities"), h("dd", null, (s.capabilities || []).length
          ? h("span", {class: "chips"}, s.capabilities.map((c) => h("span", {class: "chip"}, c)))
          : h("span", {class: "muted"}, "none")),
        s.dir ? [h("dt", null, "folder"), h("dd", null, h("code", null, s.dir))] : null),
      (s.tools || []).length
        ? h("table", {class: "tools"},
          h("thead", null, h("tr", null, ["tool", "does", "provides", "returns", "timeout"].map((t) => h("th", {scope: "col"}, t)))),
          h("tbody", null, s.tools.map((t) => h("tr", null,
            h("td", null, h("code", null, t.name)),
            h("td", null, t.description || ""),
            h("td", null, (t.provides || []).map((p) => p.capability).join(", ") || h("span", {class: "muted"}, "—")),
            h("td", null, t.returns || h("span", {class: "muted"}, "—")),
            h("td", {class: "nowrap"}, t.timeout ? `${t.timeout} s` : "")))))
        : null)));
}

export async function capabilitiesView(view, _params, ctx) {
  ctx.title("Capabilities");
  const head = () => h("header", {class: "page-head"}, h("h1", null, "Capabilities"),
    h("p", {class: "muted"}, "What agents can ask for, and which skill answers: the first provider is the one the engine picks."));
  replace(view, head(), loading());
  let body;
  try {
    body = await api.capabilities();
  } catch (e) {
    if (!ctx.stale()) replace(view, head(), errorBox("the capabilities", e, () => ctx.rerender()));
    return;
  }
  if (ctx.stale()) return;
  const caps = body.capabilities || [];
  replace(view, head(),
    caps.length === 0 ? h("p", {class: "empty"}, "No capabilities: no installed skill provides one.") : null,
    caps.length ? h("table", {class: "caps"},
      h("thead", null, h("tr", null, h("th", {scope: "col"}, "capability"), h("th", {scope: "col"}, "providers, best first"))),
      h("tbody", null, caps.map((c) => h("tr", null,
        h("th", {scope: "row"}, h("code", null, c.capability),
          c.pin ? h("p", {class: "small"}, "pinned to ", h("code", null, c.pin)) : null,
          c.policy ? h("p", {class: "small muted"}, "policy: " + c.policy) : null),
        h("td", null, h("ol", {class: "providers"}, (c.providers || []).map((p, i) => h("li", null,
          h("span", {class: "provider"}, h("code", null, `${p.skill}/${p.tool}`), i === 0 ? [" ", badge("chosen", "tone ok")] : null,
            p.local ? [" ", badge("local", "secondary")] : null),
          p.description ? h("span", {class: "provider-desc"}, " — ", p.description) : null,
          p.reason ? h("span", {class: "reason muted small"}, p.reason) : null)))))))) : null);
}

// ---------------------------------------------------------------- activity

export async function activityView(view, _params, ctx) {
  ctx.title("Activity");
  const {status, detail} = feedStatus();
  const list = h("div");
  replace(view,
    h("header", {class: "page-head"}, h("h1", null, "Activity"),
      h("p", {class: "muted"}, "Every call to the engine and every change to the graph, newest first (the last 200).",
        status !== "live" && detail ? [" ", h("strong", null, detail)] : null)),
    list);
  mountFeed(list, {wide: true});
}

export function notFoundView(view, params, ctx) {
  ctx.title("Not found");
  replace(view, h("header", {class: "page-head"}, h("h1", null, "No such page")),
    h("p", null, "Nothing lives at ", h("code", null, params.hash), ". ", h("a", {href: "#/"}, "Back to the overview"), "."));
}
