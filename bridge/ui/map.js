// Drawings of the graph: a node's neighbourhood (one or two steps out) and
// the graph overview (shapes and the labels that connect them). Plain SVG
// with a small force layout written here: it is seeded from the nodes' ids,
// so the same graph is always drawn the same way. Every drawn node is a
// link (keyboard reachable), and each drawing has a text alternative.

import {h, num} from "./dom.js";
import {registry, titleOf} from "./graph.js";

const NS = "http://www.w3.org/2000/svg";

/** MAX_DRAWN is how many nodes a neighbourhood draws one by one; past it,
 * nodes are grouped by shape, with counts, and a group opens on click. */
export const MAX_DRAWN = 200;

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c == null) continue;
    el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

/** hash is a stable 32-bit hash of a string (FNV-1a). */
function hash(str) {
  let x = 2166136261;
  for (let i = 0; i < str.length; i++) x = Math.imul(x ^ str.charCodeAt(i), 16777619);
  return x >>> 0;
}

// Colours far apart from one another, readable on light and dark.
const palette = ["#3b6fd8", "#d9482b", "#e69b00", "#2e9d4a", "#9b3fc2", "#0f9bb5", "#d3457a", "#6f9a00", "#a0522d", "#5c6bc0", "#00897b", "#c0392b"];

/** shapeColor gives each shape a colour of its own, the same on every
 * page: the shapes the UI knows take the palette in name order, others a
 * colour by hash. */
export function shapeColor(shape) {
  const names = [...registry.byName.keys()].sort();
  const i = names.indexOf(shape);
  return palette[(i >= 0 ? i : hash(shape || "node")) % palette.length];
}

function primary(node) {
  return (node.shapes || [])[0] || "node";
}

/**
 * layout places nodes (each {id, ring}; the ring 0 node is the centre) with
 * a force layout: repulsion between all, springs along links, and a pull
 * toward the node's ring. Deterministic: the start is seeded from the ids
 * and the nodes are taken in id order.
 */
function layout(nodes, links, {ringGap = 150, iterations = 220} = {}) {
  const list = [...nodes].sort((a, b) => (a.ring - b.ring) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const pos = new Map();
  for (const n of list) {
    const a = (hash(n.id) / 4294967296) * 2 * Math.PI;
    const r = n.ring * ringGap;
    pos.set(n.id, {x: Math.cos(a) * r, y: Math.sin(a) * r, ring: n.ring, dx: 0, dy: 0});
  }
  const k = 60;
  for (let it = 0; it < iterations; it++) {
    const t = 12 * (1 - it / iterations) + 0.5; // cooling
    for (const p of pos.values()) p.dx = p.dy = 0;
    for (let i = 0; i < list.length; i++) {
      const a = pos.get(list[i].id);
      for (let j = i + 1; j < list.length; j++) {
        const b = pos.get(list[j].id);
        let dx = a.x - b.x, dy = a.y - b.y;
        let d2 = dx * dx + dy * dy;
        if (d2 < 0.01) {
          dx = 0.1 * (i - j);
          dy = 0.1;
          d2 = dx * dx + dy * dy;
        }
        const f = (k * k) / d2;
        a.dx += dx * f;
        a.dy += dy * f;
        b.dx -= dx * f;
        b.dy -= dy * f;
      }
    }
    for (const l of links) {
      const a = pos.get(l.from), b = pos.get(l.to);
      if (!a || !b || a === b) continue;
      const dx = a.x - b.x, dy = a.y - b.y;
      const d = Math.sqrt(dx * dx + dy * dy) || 0.01;
      const f = d / k / 4;
      a.dx -= dx * f;
      a.dy -= dy * f;
      b.dx += dx * f;
      b.dy += dy * f;
    }
    for (const p of pos.values()) {
      if (p.ring === 0) {
        p.x = p.y = 0;
        continue;
      }
      const r = Math.sqrt(p.x * p.x + p.y * p.y) || 0.01;
      const pull = (p.ring * ringGap - r) * 0.5;
      p.dx += (p.x / r) * pull * k / 10;
      p.dy += (p.y / r) * pull * k / 10;
      const d = Math.sqrt(p.dx * p.dx + p.dy * p.dy) || 0.01;
      p.x += (p.dx / d) * Math.min(d, t);
      p.y += (p.dy / d) * Math.min(d, t);
    }
  }
  return pos;
}

/** spread pushes apart drawn circles (radius(id)) that overlap, keeping a
 * gap for labels; in id order, so the result is as stable as the layout. */
function spread(pos, radius, gap = 36) {
  const ids = [...pos.keys()].sort();
  for (let it = 0; it < 200; it++) {
    let moved = false;
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        const a = pos.get(ids[i]), b = pos.get(ids[j]);
        const dx = b.x - a.x, dy = b.y - a.y;
        const d = Math.sqrt(dx * dx + dy * dy) || 0.01;
        const want = radius(ids[i]) + radius(ids[j]) + gap;
        if (d >= want) continue;
        const push = (want - d) / 2;
        const ux = d > 0.01 ? dx / d : 1, uy = d > 0.01 ? dy / d : 0;
        a.x -= ux * push;
        a.y -= uy * push;
        b.x += ux * push;
        b.y += uy * push;
        moved = true;
      }
    }
    if (!moved) break;
  }
}

/**
 * groupFor decides what is drawn of a neighbourhood: the nodes one by one
 * when there are at most MAX_DRAWN, else one group per shape and ring
 * (except the groups the user opened), each node mapped to what stands for
 * it.
 */
function groupFor(center, rings, opened) {
  const others = [...rings.keys()].filter((id) => id !== center.id);
  const stand = new Map([[center.id, center.id]]);
  const groups = new Map();
  if (others.length <= MAX_DRAWN) {
    for (const id of others) stand.set(id, id);
    return {stand, groups};
  }
  for (const id of others) {
    const {node, ring} = rings.get(id);
    const key = `group:${ring}:${primary(node)}`;
    if (opened.has(key)) {
      stand.set(id, id);
      continue;
    }
    if (!groups.has(key)) groups.set(key, {key, shape: primary(node), ring, ids: []});
    groups.get(key).ids.push(id);
    stand.set(id, key);
  }
  return {stand, groups};
}

/**
 * neighbourhood draws the nodes around center, from GET /api/nodes/{id}/
 * neighbors at the given depth ({nodes, edges}). opened holds the groups
 * the user opened; onOpen(key) is called to open one.
 */
export function neighbourhood(center, nb, {depth, opened, onOpen}) {
  const byId = new Map([[center.id, center]]);
  for (const n of nb.nodes || []) byId.set(n.id, n);
  // Rings: steps from the centre along the edges given.
  const rings = new Map([[center.id, {node: center, ring: 0}]]);
  const adj = new Map();
  for (const e of nb.edges || []) {
    for (const [a, b] of [[e.from, e.to], [e.to, e.from]]) {
      if (!adj.has(a)) adj.set(a, []);
      adj.get(a).push(b);
    }
  }
  let frontier = [center.id];
  for (let ring = 1; ring <= depth && frontier.length; ring++) {
    const next = [];
    for (const id of frontier) {
      for (const o of adj.get(id) || []) {
        if (rings.has(o) || !byId.has(o)) continue;
        rings.set(o, {node: byId.get(o), ring});
        next.push(o);
      }
    }
    frontier = next;
  }
  const {stand, groups} = groupFor(center, rings, opened);

  // What is drawn: nodes and groups, and the links between them (one per
  // pair, its labels joined).
  const drawn = [];
  for (const [id, {node, ring}] of rings) if (stand.get(id) === id) drawn.push({id, ring, node});
  for (const g of groups.values()) drawn.push({id: g.key, ring: g.ring, group: g});
  const links = new Map();
  for (const e of nb.edges || []) {
    const a = stand.get(e.from), b = stand.get(e.to);
    if (!a || !b || a === b) continue;
    const key = a < b ? a + "\u0000" + b : b + "\u0000" + a;
    if (!links.has(key)) links.set(key, {from: a, to: b, labels: new Map()});
    const l = links.get(key);
    l.labels.set(e.label, (l.labels.get(e.label) || 0) + 1);
  }
  const pos = layout(drawn, [...links.values()]);
  spread(pos, (id) => (id.startsWith("group:") ? 30 : 10), 24);

  let minX = -60, maxX = 60, minY = -60, maxY = 60;
  for (const p of pos.values()) {
    minX = Math.min(minX, p.x - 90);
    maxX = Math.max(maxX, p.x + 90);
    minY = Math.min(minY, p.y - 40);
    maxY = Math.max(maxY, p.y + 40);
  }
  const svg = s("svg", {
    class: "graph-map", viewBox: `${minX} ${minY} ${maxX - minX} ${maxY - minY}`, role: "group",
    "aria-label": `Drawing of the neighbourhood of ${titleOf(center)}: ${drawn.length - 1} ${groups.size ? "nodes and groups" : "nodes"} around it. The list after it says the same.`,
  });
  const edgeLayer = s("g", {class: "map-edges", "aria-hidden": "true"});
  const nodeLayer = s("g", {class: "map-nodes"});
  svg.append(edgeLayer, nodeLayer);
  for (const l of links.values()) {
    const a = pos.get(l.from), b = pos.get(l.to);
    const label = [...l.labels].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name)).join(", ");
    edgeLayer.append(
      s("line", {x1: a.x, y1: a.y, x2: b.x, y2: b.y}),
      s("text", {x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 4, class: "map-edge-label", "text-anchor": "middle"}, label));
  }
  // Nodes in ring order, the centre first, so Tab goes outwards.
  drawn.sort((a, b) => a.ring - b.ring || (a.id < b.id ? -1 : 1));
  for (const d of drawn) {
    const p = pos.get(d.id);
    if (d.group) {
      const g = d.group;
      const r = Math.min(34, 14 + Math.sqrt(g.ids.length) * 1.5);
      const name = `${g.shape} ×${num(g.ids.length)}`;
      const open = () => onOpen(g.key);
      nodeLayer.append(s("g", {
        class: "map-node map-group", transform: `translate(${p.x} ${p.y})`, tabindex: "0", role: "button",
        "aria-label": `${num(g.ids.length)} ${g.shape} nodes, ${g.ring} ${g.ring === 1 ? "step" : "steps"} away: show them`,
        "data-group": g.shape, onclick: open,
        onkeydown: (ev) => {
          if (ev.key === "Enter" || ev.key === " ") {
            ev.preventDefault();
            open();
          }
        },
      },
      s("title", null, `${name}: click to show them`),
      s("circle", {r, fill: shapeColor(g.shape), "fill-opacity": "0.35", stroke: shapeColor(g.shape), "stroke-width": 2}),
      s("text", {y: 4, "text-anchor": "middle", class: "map-group-count"}, num(g.ids.length)),
      s("text", {y: r + 14, "text-anchor": "middle", class: "map-label"}, g.shape)));
      continue;
    }
    const title = titleOf(d.node);
    const shape = primary(d.node);
    const short = title.length > 28 ? title.slice(0, 27) + "…" : title;
    nodeLayer.append(s("a", {
      href: "#/node/" + encodeURIComponent(d.id), class: ["map-node", d.ring === 0 ? "map-center" : ""].join(" ").trim(),
      transform: `translate(${p.x} ${p.y})`, "aria-label": `${title}, ${shape}${d.ring === 0 ? " (this node)" : ""}`,
      "data-id": d.id, "data-ring": d.ring,
    },
    s("title", null, `${title} (${shape})`),
    s("circle", {r: d.ring === 0 ? 14 : 9, fill: shapeColor(shape)}),
    s("text", {y: d.ring === 0 ? 28 : 22, "text-anchor": "middle", class: "map-label"}, short)));
  }

  // The text alternative: each ring's nodes (and groups), with how they link.
  const lines = [];
  for (let ring = 1; ring <= depth; ring++) {
    const here = drawn.filter((d) => d.ring === ring);
    if (!here.length) continue;
    lines.push(h("li", null, ring === 1 ? "One step away:" : `${ring} steps away:`,
      h("ul", null, here.map((d) => d.group
        ? h("li", null, `${num(d.group.ids.length)} ${d.group.shape} nodes (grouped in the drawing)`)
        : h("li", null, h("a", {href: "#/node/" + encodeURIComponent(d.id)}, titleOf(d.node)), ` (${primary(d.node)})`)))));
  }
  const alt = h("details", {class: "map-alt"},
    h("summary", null, "The neighbourhood as a list"),
    lines.length ? h("ul", null, lines) : h("p", {class: "empty"}, "No links to other nodes."));
  const legend = h("p", {class: "map-legend muted small"},
    [...new Set(drawn.map((d) => (d.group ? d.group.shape : primary(d.node))))].sort().map((sh) =>
      h("span", {class: "map-key"}, s("svg", {class: "swatch", viewBox: "0 0 10 10", "aria-hidden": "true"},
        s("circle", {cx: 5, cy: 5, r: 5, fill: shapeColor(sh)})), sh)));
  return {svg, alt, legend, counts: {nodes: rings.size - 1, groups: groups.size}};
}

/** overviewMap draws GET /api/graph: shapes sized by their counts, and the
 * labels that link them with theirs. */
export function overviewMap(ov) {
  const shapes = ov.shapes || [];
  if (!shapes.length) return null;
  const nodes = shapes.map((sh) => ({id: sh.name, ring: 1}));
  const links = (ov.links || []).filter((l) => l.from !== l.to);
  const pos = layout(nodes, links, {ringGap: 160, iterations: 250});
  const radius = (n) => Math.min(10 + Math.sqrt(n) * 2.2, 48);
  const countOf = new Map(shapes.map((sh) => [sh.name, sh.count]));
  spread(pos, (id) => radius(countOf.get(id)), 70);
  let minX = 0, maxX = 0, minY = 0, maxY = 0;
  for (const sh of shapes) {
    const p = pos.get(sh.name), r = radius(sh.count);
    minX = Math.min(minX, p.x - r - 70);
    maxX = Math.max(maxX, p.x + r + 70);
    minY = Math.min(minY, p.y - r - 30);
    maxY = Math.max(maxY, p.y + r + 30);
  }
  const svg = s("svg", {class: "graph-map overview-map", viewBox: `${minX} ${minY} ${maxX - minX} ${maxY - minY}`, role: "group",
    "aria-label": `Drawing of the graph: ${shapes.length} shapes and the links between them. The table after it says the same.`});
  const edgeLayer = s("g", {class: "map-edges", "aria-hidden": "true"});
  svg.append(edgeLayer);
  const pairs = new Map();
  for (const l of ov.links || []) {
    const key = l.from + "\u0000" + l.to;
    if (!pairs.has(key)) pairs.set(key, []);
    pairs.get(key).push(`${l.label} ${num(l.count)}`);
  }
  for (const [key, labels] of pairs) {
    const [from, to] = key.split("\u0000");
    const a = pos.get(from), b = pos.get(to);
    if (!a || !b) continue;
    if (a === b) {
      edgeLayer.append(s("text", {x: a.x, y: a.y - radius(countOf.get(from)) - 8,
        "text-anchor": "middle", class: "map-edge-label"}, "↻ " + labels.join(", ")));
      continue;
    }
    // The label sits midway along the part of the line between the circles.
    const dx = b.x - a.x, dy = b.y - a.y, d = Math.sqrt(dx * dx + dy * dy) || 1;
    const ra = radius(countOf.get(from)), rb = radius(countOf.get(to));
    const t = (ra + (d - ra - rb) / 2) / d;
    edgeLayer.append(s("line", {x1: a.x, y1: a.y, x2: b.x, y2: b.y}),
      s("text", {x: a.x + dx * t, y: a.y + dy * t - 4, "text-anchor": "middle", class: "map-edge-label"}, labels.join(", ")));
  }
  for (const sh of shapes) {
    const p = pos.get(sh.name), r = radius(sh.count);
    svg.append(s("a", {href: "#/shape/" + encodeURIComponent(sh.name), class: "map-node", transform: `translate(${p.x} ${p.y})`,
      "aria-label": `${sh.name}: ${num(sh.count)} nodes`, "data-shape": sh.name},
    s("title", null, `${sh.name}: ${num(sh.count)} nodes`),
    s("circle", {r, fill: shapeColor(sh.name), "fill-opacity": "0.8"}),
    s("text", {y: 4, "text-anchor": "middle", class: "map-group-count"}, num(sh.count)),
    s("text", {y: r + 14, "text-anchor": "middle", class: "map-label"}, sh.name)));
  }
  const table = h("table", {class: "overview-links"},
    h("caption", {class: "muted small"}, "How the shapes link"),
    h("thead", null, h("tr", null, h("th", {scope: "col"}, "from"), h("th", {scope: "col"}, "label"), h("th", {scope: "col"}, "to"), h("th", {scope: "col"}, "links"))),
    h("tbody", null, (ov.links || []).map((l) => h("tr", null,
      h("td", null, l.from), h("td", null, l.label), h("td", null, l.to), h("td", {class: "num"}, num(l.count))))));
  return {svg, table};
}
