// The bridge's read API. Every failure becomes an ApiError with a message
// a person can act on; callers show it, never swallow it.

export class ApiError extends Error {
  constructor(message, {status = 0, kind = "", path = ""} = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.kind = kind;
    this.path = path;
  }
}

/** get fetches a bridge path (with its query) and returns the parsed JSON. */
export async function get(path) {
  let res;
  try {
    res = await fetch(path, {headers: {Accept: "application/json"}});
  } catch (e) {
    throw new ApiError(`Cannot reach the agentos bridge (${e.message}). Is \`agentos engine\` still running?`, {path});
  }
  let body = null;
  const text = await res.text();
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: reported below
  }
  if (!res.ok) {
    const err = body && body.error;
    const message = err && err.message ? err.message : `${res.status} ${res.statusText}${text ? ": " + text.slice(0, 200) : ""}`;
    throw new ApiError(message, {status: res.status, kind: (err && err.kind) || "", path});
  }
  if (body === null) {
    throw new ApiError(`The bridge answered ${path} with something that is not JSON.`, {status: res.status, path});
  }
  return body;
}

/** qs builds a query string from the defined, non-empty values of params. */
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

const enc = encodeURIComponent;

export const api = {
  shapes: () => get("/api/shapes"),
  nodes: (shape, {limit = 50, cursor, order} = {}) => get("/api/nodes" + qs({shape, limit, cursor, order})),
  node: (id) => get(`/api/nodes/${enc(id)}`),
  neighbors: (id, depth) => get(`/api/nodes/${enc(id)}/neighbors` + qs({depth})),
  graph: () => get("/api/graph"),
  history: (id) => get(`/api/nodes/${enc(id)}/history`),
  search: (q, {shape, limit = 20} = {}) => get("/api/search" + qs({q, shape, limit})),
  skills: () => get("/api/skills"),
  capabilities: () => get("/api/capabilities"),
  observerHistory: (limit = 50) => get("/observer/history" + qs({limit})),
  health: () => get("/healthz"),
};
