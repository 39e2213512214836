// agentos app SDK: an ES module served by the bridge at /sdk.js.
//
//   import agentos from "http://127.0.0.1:3456/sdk.js";
//   const answer = await agentos.capability("llm").invoke({prompt: "Hello"});
//   const page = await agentos.graph.read({shape: "note", limit: 20});
//   const stop = agentos.observe((event) => console.log(event.type, event));
//
// Reads need nothing. Calls (capability invoke, writes) need the bridge
// token. This file never holds it: the bridge's own page (its web UI at /)
// carries it in <meta name="agentos-token">, which the SDK reads when it
// runs in a document of the bridge's origin; an app on another origin
// (listed in bridge.origins of config.yaml) passes it with
// agentos.setToken(token). No dependencies, no build step.

const base = new URL(import.meta.url).origin;

// pageToken is the token of the bridge page this module runs in, or null
// in a document of any other origin (whatever meta tags it has).
function pageToken() {
  if (typeof document === "undefined" || typeof location === "undefined" || location.origin !== base) return null;
  const meta = document.querySelector('meta[name="agentos-token"]');
  return (meta && meta.content) || null;
}

let token = pageToken();

/** AgentosError is a failed call: kind is an engine error kind (invalid,
 * not_found, no_provider, denied, timeout, skill_failed, unavailable, ...),
 * status the HTTP status. */
export class AgentosError extends Error {
  constructor(kind, message, status) {
    super(message);
    this.name = "AgentosError";
    this.kind = kind;
    this.status = status;
  }
}

async function request(path, init = {}) {
  const res = await fetch(base + path, init);
  let body = null;
  const text = await res.text();
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      throw new AgentosError("internal", `bad JSON from ${path}: ${text.slice(0, 200)}`, res.status);
    }
  }
  if (!res.ok) {
    const err = (body && body.error) || {};
    throw new AgentosError(err.kind || "internal", err.message || res.statusText, res.status);
  }
  return body;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    q.set(k, typeof v === "object" ? JSON.stringify(v) : String(v));
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

/** call forwards one engine method (DESIGN §4) through POST /api/call. */
export async function call(method, params = {}, {signal} = {}) {
  if (!token) {
    throw new AgentosError("unauthorized",
      "no bridge token: this page is not served by the bridge; call agentos.setToken(token) first", 401);
  }
  const body = await request("/api/call", {
    method: "POST",
    headers: {"Content-Type": "application/json", "Authorization": "Bearer " + token},
    body: JSON.stringify({method, params}),
    signal,
  });
  return body.result;
}

/** capability(name).invoke(params, {provider, signal}) runs a capability on
 * its best provider (or the one named) and resolves to the tool's result. */
export function capability(name) {
  return {
    name,
    invoke(params = {}, {provider, signal} = {}) {
      const p = {capability: name, params};
      if (provider) p.provider = provider;
      return call("capabilities.invoke", p, {signal});
    },
  };
}

/** graph holds the read-only views of the user's graph. */
export const graph = {
  /** read({id}) → one node; read({shape, where, order, limit, cursor}) → {nodes, cursor}. */
  read(opts = {}) {
    if (opts.id) return request("/api/nodes/" + encodeURIComponent(opts.id));
    const {shape, where, order, limit, cursor} = opts;
    return request("/api/nodes" + query({shape, where, order, limit, cursor}));
  },
  /** search(text, {shape, limit}) → {hits: [{node, snippet, rank}]}. */
  search(text, {shape, limit} = {}) {
    return request("/api/search" + query({q: text, shape, limit}));
  },
  /** neighbors(id, {label, direction, depth}) → {nodes, edges}. */
  neighbors(id, {label, direction, depth} = {}) {
    return request("/api/nodes/" + encodeURIComponent(id) + "/neighbors" + query({label, direction, depth}));
  },
  shapes() {
    return request("/api/shapes");
  },
};

/** observe(callback, {since}) streams observer events (started, completed,
 * failed, graph.changed, skills.changed, job.progress, lagged) to callback.
 * The browser reconnects and resumes by itself. Returns a function that stops. */
export function observe(callback, {since} = {}) {
  const url = base + "/observer/stream" + query({since});
  const es = new EventSource(url);
  es.onmessage = (msg) => {
    try {
      callback(JSON.parse(msg.data));
    } catch (e) {
      console.error("agentos.observe callback failed", e);
    }
  };
  return () => es.close();
}

/** setToken gives the SDK the bridge token (apps not served by the bridge). */
export function setToken(t) {
  token = t || null;
}

/** hasToken tells whether calls can be made. */
export function hasToken() {
  return !!token;
}

const agentos = {base, call, capability, graph, observe, setToken, hasToken, AgentosError};
export default agentos;
