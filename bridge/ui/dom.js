// DOM helpers. Data from the graph only ever becomes text nodes or
// attribute values: nothing here parses HTML.

/**
 * h("a", {href: "#/x", class: "y", onclick: fn}, "text", child, [more])
 * builds an element. Attributes whose value is null, undefined or false are
 * left out; on* functions become event listeners; children may be strings,
 * numbers, nodes, arrays of them, or null (skipped).
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v);
    } else if (k === "class") {
      el.className = Array.isArray(v) ? v.filter(Boolean).join(" ") : v;
    } else if (k === "dataset") {
      Object.assign(el.dataset, v);
    } else if (v === true) {
      el.setAttribute(k, "");
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** replace empties el and fills it with children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * marked renders a search snippet, in which the engine brackets every
 * matched word ("the [engine] notes"), as text with <mark> elements. Only
 * a bracketed run of word characters counts as a match, so other brackets
 * in the text stay as they are.
 */
export function marked(snippet) {
  const out = [];
  const re = /\[([\p{L}\p{N}\p{Mn}]+)\]/gu;
  let pos = 0;
  for (const m of snippet.matchAll(re)) {
    if (m.index > pos) out.push(snippet.slice(pos, m.index));
    out.push(h("mark", null, m[1]));
    pos = m.index + m[0].length;
  }
  if (pos < snippet.length) out.push(snippet.slice(pos));
  return out;
}

const dateFmt = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});
const timeFmt = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});
const numFmt = new Intl.NumberFormat();

// A date written without a time (due: 2027-04-15) is stored as midnight UTC:
// it is shown as that calendar date, never moved by the viewer's time zone.
const dayFmt = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", timeZone: "UTC",
});
const dateOnly = /^(\d{4}-\d{2}-\d{2})(T00:00(:00(\.0+)?)?(Z|[+-]00:?00))?$/;

/** isDateOnly reports whether an ISO value is a date without a time of day. */
export function isDateOnly(iso) {
  return typeof iso === "string" && dateOnly.test(iso);
}

/** when renders an ISO time as a <time> in the user's locale; a date
 * without a time as the date itself. */
export function when(iso, {timeOnly = false} = {}) {
  if (!iso) return h("span", {class: "muted"}, "—");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  if (!timeOnly && isDateOnly(iso)) {
    return h("time", {datetime: iso.slice(0, 10), title: iso.slice(0, 10)}, dayFmt.format(d));
  }
  return h("time", {datetime: iso, title: iso}, timeOnly ? timeFmt.format(d) : dateFmt.format(d));
}

export function num(n) {
  return numFmt.format(n);
}

/** badge is a small label, e.g. a shape name. */
export function badge(text, extra) {
  return h("span", {class: ["badge", extra]}, text);
}
