// Agents' runs (DESIGN §15): #/runs lists the agent_run nodes, newest
// first; #/run/ID shows one run's steps, live while it runs (its
// agent.step events), then as its node recorded them, with links to its
// agent, the run that delegated it, the runs it delegated and the nodes it
// touched.

import {api} from "./api.js";
import {h, replace, when, num, badge} from "./dom.js";
import {nodeLink, titleOf} from "./graph.js";

const tones = {completed: "ok", running: "running", failed: "failed", cancelled: "interrupted", max_turns: "changed"};

function outcomeBadge(outcome) {
  return badge((outcome || "running").replace("_", " "), ["tone", tones[outcome] || "running"]);
}

function errorBox(what, err, retry) {
  return h("div", {class: "error-box", role: "alert"},
    h("strong", null, "Could not load " + what + "."),
    h("p", null, err.message || String(err)),
    retry ? h("button", {type: "button", onclick: retry}, "Try again") : null);
}

export async function runsView(view, _params, ctx) {
  ctx.title("Runs");
  if (!ctx.refreshing) replace(view, h("p", {class: "loading muted", "aria-busy": "true"}, "Loading…"));
  let page;
  try {
    page = await api.nodes("agent_run", {limit: 50, order: "-started"});
  } catch (e) {
    if (!ctx.stale()) replace(view, errorBox("the runs", e, () => ctx.rerender()));
    return;
  }
  if (ctx.stale()) return;
  const runs = page.nodes || [];
  replace(view,
    h("header", {class: "page-head"},
      h("h1", null, "Runs"),
      h("p", {class: "muted"}, "Each run of an agent: its task, how it ended and what it did. " +
        "Run one with agentos agents run NAME \"task\", or the agent_run tool over MCP.")),
    runs.length
      ? h("table", {class: "nodes runs"},
        h("thead", null, h("tr", null, ["Agent", "Task", "Outcome", "Turns", "Started"].map((c) => h("th", {scope: "col"}, c)))),
        h("tbody", null, runs.map((r) => {
          const f = r.fields || {};
          return h("tr", {dataset: {run: r.id}},
            h("td", null, f.agent_name || "—"),
            h("td", null, h("a", {href: "#/run/" + encodeURIComponent(r.id), class: "node-link"}, f.task || r.id)),
            h("td", null, outcomeBadge(f.outcome)),
            h("td", {class: "num"}, f.turns === undefined ? "—" : num(f.turns)),
            h("td", null, when(f.started)));
        })))
      : h("p", {class: "empty"}, "No runs yet. An agent's runs show up here as they start."));
  let timer = 0;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctx.rerender({refreshing: true}), 300);
  };
  return {
    onEvent(ev) {
      if (ev.type === "agent.step" && ev.data && (ev.data.kind === "started" || ev.data.kind === "ended")) soon();
    },
  };
}

// stepItem is one step: a model turn, a tool call and its result, the answer.
function stepItem(kind, label, text, {error = false, turn} = {}) {
  return h("li", {class: ["step", "step-" + kind, error && "is-error"], dataset: {kind}},
    h("span", {class: "step-label"}, turn ? `${label} · turn ${turn}` : label),
    text ? h("pre", {class: "step-text"}, text) : null);
}

// recordedSteps are a finished run's steps, from its node: the model's
// turns (what it said, the tools it asked for) and each tool's result.
function recordedSteps(f) {
  const items = [];
  const results = new Map((f.tool_calls || []).map((c) => [c.id, c]));
  let turn = 0;
  for (const m of f.messages || []) {
    if (m.role === "assistant") {
      turn++;
      if (m.content) items.push(stepItem(m.tool_calls && m.tool_calls.length ? "model" : "answer",
        m.tool_calls && m.tool_calls.length ? "Model" : "Answer", m.content, {turn}));
      for (const c of m.tool_calls || []) {
        items.push(stepItem("tool_call", "Calls " + c.name, JSON.stringify(c.arguments || {}), {turn}));
        const r = results.get(c.id);
        if (r) items.push(stepItem("tool_result", (r.refused ? "Refused " : r.error ? "Failed " : "Result of ") + c.name,
          r.error || r.result || "", {error: !!r.error, turn}));
      }
    }
  }
  return items;
}

// liveStep is an agent.step event as a step.
function liveStep(d) {
  switch (d.kind) {
    case "started": return stepItem("started", "Started", d.text);
    case "model_turn": return stepItem("model", "Asking the model", "", {turn: d.turn});
    case "tool_call": return stepItem("tool_call", "Calls " + d.tool, d.text, {turn: d.turn});
    case "tool_result": return stepItem("tool_result", (d.error ? "Failed " : "Result of ") + d.tool, d.text, {error: !!d.error, turn: d.turn});
    case "answer": return stepItem("answer", "Answer", d.text, {turn: d.turn});
    case "ended": return stepItem("ended", "Ended: " + d.text, "", {error: !!d.error});
  }
  return null;
}

export async function runView(view, params, ctx) {
  const id = params.id;
  ctx.title("Run " + id);
  if (!ctx.refreshing) replace(view, h("p", {class: "loading muted", "aria-busy": "true"}, "Loading…"));
  const [nodeR, nbR] = await Promise.allSettled([api.node(id), api.neighbors(id)]);
  if (ctx.stale()) return;
  if (nodeR.status === "rejected") {
    replace(view, errorBox("run " + id, nodeR.reason, () => ctx.rerender()));
    return;
  }
  const run = nodeR.value;
  const f = run.fields || {};
  const running = !f.outcome || f.outcome === "running";
  ctx.title((f.agent_name || "Run") + ": " + (f.task || id));
  const byID = new Map(((nbR.status === "fulfilled" && nbR.value.nodes) || []).map((n) => [n.id, n]));
  const links = [];
  for (const e of run.edges || []) {
    const other = byID.get(e.from === id ? e.to : e.from) || {id: e.from === id ? e.to : e.from};
    const what = e.from === id
      ? {agent: "Agent", parent: "Delegated by", touched: "Touched"}[e.label] || e.label
      : e.label === "parent" ? "Delegated to" : e.label + " (from)";
    links.push(h("li", null, h("span", {class: "muted"}, what + " "), nodeLink(other, titleOf(other))));
  }
  // A running run's steps so far are in the engine's recent events.
  let earlier = [];
  if (running) {
    try {
      const hist = await api.observerHistory(500);
      earlier = (hist.events || []).filter((ev) => ev.type === "agent.step" && ev.data && ev.data.run === id);
    } catch {
      earlier = []; // the live ones still come
    }
    if (ctx.stale()) return;
  }
  const seen = new Set(earlier.map((ev) => ev.id));
  const steps = h("ol", {class: "steps", "aria-live": running ? "polite" : null, "aria-label": "Steps"},
    running ? earlier.map((ev) => liveStep(ev.data)).filter(Boolean) : recordedSteps(f));
  const u = f.usage || {};
  replace(view,
    h("nav", {class: "crumbs", "aria-label": "Breadcrumb"}, h("a", {href: "#/runs"}, "Runs"), " / ",
      h("span", {"aria-current": "page"}, f.agent_name || id)),
    h("header", {class: "page-head"},
      h("h1", null, f.task || id),
      h("p", {class: "node-meta"}, h("span", {class: "run-agent"}, f.agent_name || ""), " ", outcomeBadge(f.outcome),
        " ", h("code", {class: "id", title: "run id"}, id)),
      h("p", {class: "muted small"}, "started ", when(f.started),
        f.ended ? [" · ended ", when(f.ended)] : null,
        f.turns !== undefined ? ` · ${num(f.turns)} turns` : null,
        u.input_tokens !== undefined ? ` · ${num(u.input_tokens)} tokens in, ${num(u.output_tokens || 0)} out` : null)),
    f.answer ? h("section", {class: "panel", "aria-labelledby": "answer-h"}, h("h2", {id: "answer-h"}, "Answer"),
      h("pre", {class: "run-answer"}, f.answer)) : null,
    f.error ? h("section", {class: "panel error-box", role: "alert"}, h("strong", null, "Error"), h("p", null, f.error)) : null,
    h("section", {class: "panel", "aria-labelledby": "steps-h"},
      h("h2", {id: "steps-h"}, "Steps", running ? [" ", badge("live", "tone running")] : null), steps),
    h("section", {class: "panel", "aria-labelledby": "links-h"},
      h("h2", {id: "links-h"}, "Links ", h("span", {class: "muted"}, num(links.length))),
      links.length ? h("ul", {class: "run-links"}, links) : h("p", {class: "muted"}, "None yet.")));
  if (!running) return null;
  return {
    onEvent(ev) {
      const d = ev.data || {};
      if (ev.type !== "agent.step" || d.run !== id || seen.has(ev.id)) return;
      const item = liveStep(d);
      if (item) steps.append(item);
      if (d.kind === "ended") setTimeout(() => ctx.rerender({refreshing: true}), 200); // the record, and its links
    },
  };
}
