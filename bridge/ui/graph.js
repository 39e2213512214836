// What the UI knows about shapes, and how it shows nodes and their values.

import {h, when, num, badge} from "./dom.js";

/** registry: the shapes of GET /api/shapes by name, kept fresh by app.js. */
export const registry = {byName: new Map(), totals: {nodes: 0, edges: 0}, loaded: false};

export function setShapes(body) {
  registry.byName = new Map(body.shapes.map((s) => [s.name, s]));
  registry.totals = {nodes: body.nodes, edges: body.edges};
  registry.loaded = true;
}

/** shapeOf is a node's most specific shape (its first), if known. */
export function shapeOf(node) {
  for (const name of node.shapes || []) {
    const s = registry.byName.get(name);
    if (s) return s;
  }
  return null;
}

const titleFallbacks = ["title", "name", "subject", "handle", "email", "path", "url"];

function present(v) {
  return v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0);
}

/** titleField is the field a shape's nodes are titled by. */
export function titleField(shape) {
  return (shape && shape.display && shape.display.title) || "";
}

/** titleOf names a node: its shape's display title, else a likely field, else its id. */
export function titleOf(node) {
  const f = node.fields || {};
  const t = titleField(shapeOf(node));
  if (t && present(f[t])) return short(f[t]);
  for (const k of titleFallbacks) if (present(f[k])) return short(f[k]);
  return node.id;
}

export function subtitleOf(node) {
  const s = shapeOf(node);
  const k = s && s.display && s.display.subtitle;
  if (!k || k === titleField(s)) return null;
  const v = (node.fields || {})[k];
  if (!present(v)) return null;
  const def = s.fields && s.fields[k];
  return [h("span", {class: "muted"}, k + " "), def && def.type === "datetime" ? when(v) : short(v)];
}

function short(v) {
  const s = Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : String(v);
  return s.length > 140 ? s.slice(0, 139) + "…" : s;
}

export function shapeBadges(node) {
  return (node.shapes || []).map((s, i) => badge(s, i === 0 ? "shape" : "shape secondary"));
}

/** nodeLink links to a node's page, titled. */
export function nodeLink(node, text) {
  return h("a", {href: "#/node/" + encodeURIComponent(node.id), class: "node-link"}, text ?? titleOf(node));
}

const httpURL = /^https?:\/\/\S+$/i;

/**
 * value renders one field value by its declared type: times in the user's
 * locale, web addresses as links that open outside the UI, lists as chips,
 * objects as JSON.
 */
export function value(v, def, {compact = false} = {}) {
  if (v === undefined || v === null || v === "") return h("span", {class: "muted"}, "—");
  if (Array.isArray(v)) {
    if (v.length === 0) return h("span", {class: "muted"}, "none");
    if (v.every((x) => typeof x !== "object" || x === null)) {
      return h("span", {class: "chips"}, v.map((x) => h("span", {class: "chip"}, scalarText(x))));
    }
    return h("pre", {class: "json"}, JSON.stringify(v, null, 2));
  }
  switch (typeof v) {
    case "boolean":
      return badge(v ? "yes" : "no", v ? "yes" : "no");
    case "number":
      return h("span", {class: "num"}, num(v));
    case "object":
      return h("pre", {class: "json"}, JSON.stringify(v, null, 2));
  }
  const s = String(v);
  const type = def && def.type;
  if (type === "datetime") return when(s);
  if ((type === "url" || !type) && httpURL.test(s)) {
    return h("a", {href: s, target: "_blank", rel: "noopener noreferrer", class: "ext"}, s);
  }
  if (type === "enum") return badge(s, "enum");
  if (compact) return h("span", {class: "clip", title: s.length > 60 ? s : null}, s);
  return h("span", {class: type === "text" || s.includes("\n") ? "text" : null}, s);
}

function scalarText(x) {
  if (x === null) return "null";
  if (typeof x === "number") return num(x);
  return String(x);
}

// Column choice for a page of nodes: the types that say most in a narrow
// cell come first; long text and raw JSON stay out of tables.
const typeRank = {enum: 0, boolean: 1, integer: 2, number: 2, datetime: 3, string: 4, url: 5};

/**
 * columns picks the fields a table of a shape's nodes shows: the display
 * title and subtitle, then up to extra fields that this page's nodes have.
 */
export function columns(shape, nodes, extra = 3) {
  const title = titleField(shape);
  const subtitle = shape && shape.display && shape.display.subtitle;
  const skip = new Set([title, subtitle, "image", "content", shape && shape.display && shape.display.image]);
  const defs = Object.values((shape && shape.fields) || {});
  const used = (name) => nodes.some((n) => present((n.fields || {})[name]));
  const cols = [];
  if (subtitle && subtitle !== title && used(subtitle)) cols.push(shape.fields[subtitle] || {name: subtitle});
  const candidates = defs
    .filter((d) => !skip.has(d.name) && d.type in typeRank && used(d.name))
    .sort((a, b) => typeRank[a.type] + (a.array ? 1.5 : 0) - (typeRank[b.type] + (b.array ? 1.5 : 0)) || a.name.localeCompare(b.name));
  cols.push(...candidates.slice(0, extra));
  if (!shape) {
    // An unknown shape: the first fields the nodes have.
    const names = new Set();
    for (const n of nodes) for (const k of Object.keys(n.fields || {})) names.add(k);
    for (const k of [...names].sort().slice(0, extra)) if (!titleFallbacks.includes(k)) cols.push({name: k});
  }
  return cols;
}

export function fieldDef(node, name) {
  for (const sn of node.shapes || []) {
    const s = registry.byName.get(sn);
    if (s && s.fields && s.fields[name]) return s.fields[name];
  }
  return null;
}

/** relationNames are the relation keys of a node's shapes. */
export function relationNames(node) {
  const names = new Set();
  for (const sn of node.shapes || []) {
    const s = registry.byName.get(sn);
    for (const k of Object.keys((s && s.relations) || {})) names.add(k);
  }
  return names;
}

export function plural(shape) {
  return (shape && (shape.plural || shape.name + "s")) || "";
}

export function capitalize(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}
