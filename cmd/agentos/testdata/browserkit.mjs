// What the Chromium test scripts share (webui.mjs, runs.mjs,
// graphviews.mjs): playwright-core from the test tools, the answers of the
// Go test on stdin one line each, checks recorded into the result, and the
// browser's flags for this machine's closed network.

import {createRequire} from "node:module";
import {createInterface} from "node:readline";
import path from "node:path";

/** playwright is playwright-core from the node_modules at dir. */
export function playwright(dir) {
  return createRequire(path.join(dir, "/"))("playwright-core");
}

/** answers reads the Go test's answers: next(ms) is the next line, close()
 * lets the script end. */
export function answers() {
  const stdin = createInterface({input: process.stdin});
  const lines = [];
  const waiting = [];
  stdin.on("line", (l) => (waiting.length ? waiting.shift()(l) : lines.push(l)));
  return {
    next: (ms) => new Promise((resolve, reject) => {
      if (lines.length) return resolve(lines.shift());
      const timer = setTimeout(() => reject(new Error(`no answer from the Go test within ${ms} ms`)), ms);
      waiting.push((l) => {
        clearTimeout(timer);
        resolve(l);
      });
    }),
    close: () => stdin.close(),
  };
}

/** checker records checks into result.checks, logging each with prefix;
 * a failed one throws. */
export function checker(result, prefix) {
  return (name, ok, detail = "") => {
    detail = String(detail).replace(/\s+/g, " ");
    result.checks.push({name, ok: !!ok, detail});
    console.error(prefix + ":", ok ? "ok  " : "FAIL", name, detail);
    if (!ok) throw new Error(`check failed: ${name}${detail ? ": " + detail : ""}`);
  };
}

/** chromiumArgs start headless Chromium without reaching for the network. */
export const chromiumArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** watchPage records into result the page's console errors, uncaught
 * exceptions, failed requests and HTTP errors (an aborted event stream,
 * which every page load or reload ends, is not one). */
export function watchPage(page, result) {
  page.on("console", (m) => {
    if (m.type() === "error") result.console_errors.push(`${m.text()} (${m.location().url || "?"})`);
  });
  page.on("pageerror", (e) => result.console_errors.push("uncaught: " + e.message));
  page.on("requestfailed", (r) => {
    const why = r.failure() && r.failure().errorText;
    if (why === "net::ERR_ABORTED" && new URL(r.url()).pathname === "/observer/stream") return;
    result.failed_requests.push(`${r.method()} ${r.url()}: ${why}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) result.failed_requests.push(`${r.request().method()} ${r.url()}: HTTP ${r.status()}`);
  });
}
