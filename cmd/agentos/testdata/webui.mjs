// Drives the agentos web UI in headless Chromium with playwright-core, for
// TestWebUIInChromium (webui_e2e_test.go). The Go test populates a graph,
// starts the engine with its bridge and runs this script with:
//
//   WEBUI_URL           the bridge, e.g. http://127.0.0.1:40123
//   WEBUI_FIXTURE       JSON: what the graph holds, a page of another origin
//                       and the token it must not get (see the Go test)
//   WEBUI_SCREENSHOT    where to save the screenshot
//   WEBUI_NODE_MODULES  the node_modules holding playwright-core
//   WEBUI_CHROMIUM      the chromium binary
//
// Talking to the Go test: the script prints a request on stdout and the test
// answers on stdin: "WRITE" (a write made through the CLI) → "WROTE <id>";
// "LONGJOB" (a job that runs until the engine dies) → "LONGJOB <job id>";
// "CRASH" (the engine killed, a new one started on the same home and bridge
// address) → "RESTARTED"; "COUNT" (a short job) → "COUNTED".
// The last stdout line is "RESULT <json>": {ok, checks, console_errors,
// failed_requests, screenshot, error}. Progress goes to stderr.

import path from "node:path";
import {playwright, answers, checker, chromiumArgs} from "./browserkit.mjs";

const {chromium} = playwright(process.env.WEBUI_NODE_MODULES);

const base = process.env.WEBUI_URL;
const fx = JSON.parse(process.env.WEBUI_FIXTURE);
const shotPath = process.env.WEBUI_SCREENSHOT;

const result = {ok: false, checks: [], console_errors: [], failed_requests: [], screenshot: "", error: ""};
const log = (...a) => console.error("webui:", ...a);

// Answers from the Go test, one line each.
const stdin = answers();
const nextLine = stdin.next;

const check = checker(result, "webui");

const browser = await chromium.launch({
  executablePath: process.env.WEBUI_CHROMIUM,
  args: chromiumArgs,
});
const context = await browser.newContext({viewport: {width: 1440, height: 900}, colorScheme: "light", locale: "en-US", timezoneId: "UTC"});
const page = await context.newPage();
page.setDefaultTimeout(15000);

page.on("console", (m) => {
  if (m.type() !== "error") return;
  if (m.location().url && whileDown(m.location().url) && m.text().includes("net::ERR_")) return;
  result.console_errors.push(`${m.text()} (${m.location().url || "?"})`);
});
page.on("pageerror", (e) => result.console_errors.push("uncaught: " + e.message));
// Closing an event stream (a reload or page load of ours, or the SDK's
// observe() stopping) aborts its request: that abort is expected, whenever
// it happens; a stream that fails otherwise shows as an HTTP error or as
// missing events, which the checks catch. Any other failed request counts. While the engine (and the
// bridge it serves) is down on purpose, the stream and the health checks
// fail, and the browser logs that on the console: expected too.
let engineDown = false;
const whileDown = (url) => engineDown && ["/observer/stream", "/healthz"].includes(new URL(url).pathname);
page.on("requestfailed", (r) => {
  const why = r.failure() && r.failure().errorText;
  if (why === "net::ERR_ABORTED" && new URL(r.url()).pathname === "/observer/stream") return;
  if (whileDown(r.url())) return;
  result.failed_requests.push(`${r.method()} ${r.url()}: ${why}`);
});
page.on("response", (r) => {
  if (r.status() >= 400) result.failed_requests.push(`${r.request().method()} ${r.url()}: HTTP ${r.status()}`);
});

const hash = () => new URL(page.url()).hash;
const waitHash = (want) => page.waitForFunction((w) => location.hash === w, want);
const h1 = () => page.locator("main h1").first();

// Nothing on the page reports an error: no error box, no toast.
async function noErrorsShown(where) {
  const boxes = await page.locator(".error-box, .toast").allInnerTexts();
  check(`no error shown on ${where}`, boxes.length === 0, boxes.join(" | "));
}

async function run() {
  // 1. The overview, with the shapes and their counts in the sidebar.
  await page.goto(base + "/");
  const noteLink = page.locator('.sidebar a[data-shape="note"]');
  await noteLink.waitFor();
  await page.locator("main h1").filter({hasText: "Your graph"}).waitFor();
  const noteCount = await noteLink.locator(".count").innerText();
  check("sidebar counts the notes", noteCount.replace(/\D/g, "") === String(fx.notes), `shows ${noteCount}, want ${fx.notes}`);
  check("empty shapes are hidden", (await page.locator('.sidebar a[data-shape="place"]').count()) === 0);
  await noErrorsShown("the overview");

  // 2. A shape's nodes, paged by cursor both ways.
  await noteLink.click();
  await waitHash("#/shape/note");
  const rows = page.locator("table.nodes tbody tr");
  await page.locator(".pager .range").filter({hasText: "1–50"}).waitFor();
  check("a shape shows a page of its nodes", (await rows.count()) === 50, `${await rows.count()} rows`);
  const firstTitle = await rows.first().locator("a.node-link").innerText();
  check("rows are titled by the display title", firstTitle === fx.first_note_title, `first row ${JSON.stringify(firstTitle)}`);
  await page.getByRole("button", {name: "Next →"}).click();
  await page.locator(".pager .range").filter({hasText: "51–100"}).waitFor();
  const secondFirst = await rows.first().locator("a.node-link").innerText();
  check("next page shows other nodes", secondFirst !== firstTitle, secondFirst);
  check("the page is in the address", /cursor=/.test(hash()), hash());
  await page.getByRole("button", {name: "← Previous"}).click();
  await page.locator(".pager .range").filter({hasText: "1–50"}).waitFor();
  check("previous page comes back", (await rows.first().locator("a.node-link").innerText()) === firstTitle);
  await noErrorsShown("the notes table");

  // 3. A node: its values, and an edge to a neighbour that navigates.
  await page.locator('.sidebar a[data-shape="task"]').click();
  await waitHash("#/shape/task");
  await page.locator("table.nodes a.node-link", {hasText: fx.task_title}).first().click();
  await waitHash("#/node/" + fx.task_id);
  await h1().filter({hasText: fx.task_title}).waitFor();
  const values = page.locator("table.values");
  check("node shows its title value", (await values.locator("td", {hasText: fx.task_title}).count()) > 0);
  check("node shows its status value", (await values.locator("tr", {hasText: "status"}).innerText()).includes(fx.task_status));
  const edge = page.locator("ul.edges a.node-link", {hasText: fx.person_name});
  check("node links to its assignee by name", (await edge.count()) === 1, `${await edge.count()} links`);
  check("node has history", (await page.locator("ol.history li.change").count()) >= 1);
  const dueHere = await values.locator("tr", {hasText: "due"}).innerText();
  check("a date-only due shows as its date", dueHere.includes("Apr 15, 2027"), dueHere);
  // The same date west of UTC: a date without a time never moves a day back.
  const west = await browser.newContext({viewport: {width: 1200, height: 800}, locale: "en-US", timezoneId: "America/Los_Angeles"});
  try {
    const wp = await west.newPage();
    await wp.goto(base + "/#/node/" + fx.task_id);
    const dueWest = wp.locator("table.values tr", {hasText: "due"});
    await dueWest.waitFor();
    const text = await dueWest.innerText();
    check("a date-only due shows as its date in Los Angeles", text.includes("Apr 15, 2027") && !text.includes("Apr 14"), text);
  } finally {
    await west.close();
  }
  await noErrorsShown("the task");
  await edge.click();
  await waitHash("#/node/" + fx.person_id);
  await h1().filter({hasText: fx.person_name}).waitFor();
  check("the edge leads to the neighbour", true, fx.person_name);
  const back = page.locator("ul.edges a.node-link", {hasText: fx.task_title});
  check("the neighbour links back", (await back.count()) === 1);
  await page.goBack();
  await h1().filter({hasText: fx.task_title}).waitFor();
  check("back returns to the task", hash() === "#/node/" + fx.task_id, hash());
  await page.reload();
  await h1().filter({hasText: fx.task_title}).waitFor();
  check("reload keeps the route", true);

  // 4. Full-text search by a word only one note has.
  await page.locator("#search-input").fill(fx.search_word);
  await page.locator("#search-input").press("Enter");
  await waitHash("#/search?q=" + encodeURIComponent(fx.search_word));
  const hit = page.locator("li.hit", {hasText: fx.search_title});
  await hit.waitFor();
  const marks = await hit.locator("mark").allInnerTexts();
  check("search finds the node, word marked", marks.some((m) => m.toLowerCase() === fx.search_word.toLowerCase()), JSON.stringify(marks));
  check("search shows one hit", (await page.locator("li.hit").count()) === 1);
  await hit.locator("a.node-link").click();
  await waitHash("#/node/" + fx.search_id);
  await h1().filter({hasText: fx.search_title}).waitFor();
  await noErrorsShown("search");

  // 5. A write made through the CLI shows up live: in the activity feed,
  //    and in the counts of the shape being viewed.
  await page.locator('.sidebar a[data-shape="note"]').click();
  await page.locator(".pager .range").filter({hasText: "1–50"}).waitFor();
  await page.locator(".status", {hasText: "live"}).waitFor();
  console.log("WRITE");
  const answer = await nextLine(60000);
  const m = /^WROTE (\S+)$/.exec(answer);
  check("the Go test wrote a note through the CLI", m, answer);
  const id = m[1];
  const feed = page.locator("aside.activity ol.feed");
  await feed.locator(`li[data-type="graph.changed"] a[href="#/node/${id}"]`).waitFor({timeout: 10000});
  check("the write appears in the activity feed", true, id);
  // The change carries the call_id of the CLI's data.create, so it is shown
  // inside that call's row, not on a row of its own.
  const created = feed.locator('li.event[data-type="completed"]', {has: page.locator(`li.change[data-type="graph.changed"] a[href="#/node/${id}"]`)});
  await created.waitFor({timeout: 10000});
  const createdText = await created.innerText();
  check("the graph change is within its call's row", (await created.count()) === 1 && createdText.includes("data.create"), createdText);
  check("the feed names the method and caller", createdText.includes("cli"), createdText);
  const alone = await feed.locator(`li.event[data-type="graph.changed"]`, {has: page.locator(`a[href="#/node/${id}"]`)}).count();
  check("the change has no row of its own", alone === 0, `${alone} rows`);
  await noteLink.locator(".count").filter({hasText: new RegExp(`^${fx.notes + 1}$`)}).waitFor({timeout: 10000});
  check("the note count follows the write", true, fx.notes + 1);
  await page.locator(".notice", {hasText: "changed since this page loaded"}).waitFor({timeout: 10000});
  check("the open table offers a refresh", true);
  await page.getByRole("button", {name: "Refresh"}).click();
  await page.locator(".pager .range").filter({hasText: "1–50"}).waitFor();
  await noErrorsShown("the notes after the write");

  // 6. The activity page, skills and capabilities.
  await page.getByRole("link", {name: "Activity", exact: true}).click();
  await waitHash("#/activity");
  await page.locator("main ol.feed.wide li", {hasText: "data.create"}).first().waitFor();
  check("the activity page lists the write", true);
  await page.getByRole("link", {name: "Skills", exact: true}).click();
  await waitHash("#/skills");
  await page.locator("main section.skill h2", {hasText: fx.skill}).waitFor();
  check("skills are listed", true, fx.skill);
  await page.getByRole("link", {name: "Capabilities", exact: true}).click();
  await waitHash("#/capabilities");
  await page.locator("main table.caps code", {hasText: fx.capability}).first().waitFor();
  check("capabilities are listed with providers", (await page.locator("main table.caps ol.providers li").count()) >= 1);
  await noErrorsShown("skills and capabilities");

  // 7. The engine dies under a running job. Its row stops saying running
  //    once the page learns the engine is gone; the next engine's first
  //    job has the same id (j1) but a row of its own.
  const waitRow = feed.locator('li.event[data-type="job.progress"]', {hasText: "wait.long"});
  console.log("LONGJOB");
  const longJob = await nextLine(60000);
  check("the Go test started a long job", /^LONGJOB j1$/.test(longJob), longJob);
  await waitRow.and(page.locator('[data-state="running"]')).waitFor({timeout: 10000});
  check("the long job's row is running", /\btone-running\b/.test(await waitRow.getAttribute("class")), await waitRow.innerText());
  engineDown = true;
  console.log("CRASH");
  const restarted = await nextLine(60000);
  check("the Go test killed the engine and started a new one", restarted === "RESTARTED", restarted);
  await waitRow.and(page.locator('[data-state="interrupted"]')).waitFor({timeout: 15000});
  const waitText = await waitRow.innerText();
  const waitBadge = waitRow.locator(".badge").first();
  check("the killed engine's job row says interrupted", (await waitBadge.textContent()) === "stopped" &&
    /^Interrupted/.test(await waitBadge.getAttribute("title")), waitText);
  await page.locator(".status", {hasText: "live"}).waitFor({timeout: 15000});
  check("the page is live again with the new engine", true);
  engineDown = false;
  console.log("COUNT");
  const counted = await nextLine(60000);
  check("the Go test ran a job on the new engine", counted === "COUNTED", counted);
  const countRow = feed.locator('li.event[data-type="job.finished"]', {hasText: "count"});
  await countRow.and(page.locator('[data-state="ended"]')).waitFor({timeout: 10000});
  const countText = await countRow.innerText();
  const waitRows = await waitRow.count();
  const waitState = waitRows === 1 ? await waitRow.getAttribute("data-state") : "";
  check("the new engine's j1 has a row of its own, the old one stays interrupted", waitRows === 1 && waitState === "interrupted",
    `${waitRows} wait.long row(s) ${waitState}; count: ${countText}`);
  await noErrorsShown("the engine restart");
  await page.getByRole("link", {name: "Activity", exact: true}).click();
  const wideWait = page.locator('main ol.feed.wide li.event[data-state="interrupted"]', {hasText: "wait.long"});
  await wideWait.waitFor();
  check("the Activity page says interrupted", (await wideWait.locator(".badge").first().textContent()) === "interrupted", await wideWait.innerText());

  // 8. The app SDK, imported by a page of the bridge's own origin: it
  //    carries the token, so the page can write and invoke capabilities
  //    (web.read fetches a page the Go test serves on 127.0.0.1).
  const sdk = await page.evaluate(async (webURL) => {
    const {default: agentos} = await import("/sdk.js");
    const before = await (await fetch("/observer/history?limit=1")).json();
    const events = [];
    const stop = agentos.observe((ev) => events.push(ev), {since: before.last_id});
    const created = await agentos.call("data.create", {shape: "note", fields: {title: "Made by the app SDK"}});
    const read = await agentos.graph.read({id: created.id});
    const listed = await agentos.graph.read({shape: "note", limit: 5});
    const found = await agentos.graph.search("quetzalcoatl");
    const web = await agentos.capability("web.read").invoke({url: webURL});
    let refused = "";
    try {
      await agentos.call("secrets.list");
    } catch (e) {
      refused = `${e.name} ${e.kind} ${e.status}`;
    }
    const deadline = Date.now() + 10000;
    const seen = () => events.some((e) => e.type === "graph.changed" && (e.ids || []).includes(created.id));
    while (!seen() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    stop();
    return {token: agentos.hasToken(), title: read.fields.title, listed: listed.nodes.length,
      hits: found.hits.length, web: web && web.item && web.item.name, refused, observed: seen()};
  }, fx.web_url);
  check("sdk.js carries the token to a same-origin page", sdk.token);
  check("sdk call writes and graph.read reads it back", sdk.title === "Made by the app SDK", JSON.stringify(sdk));
  check("sdk graph.read pages and graph.search finds", sdk.listed === 5 && sdk.hits === 1, JSON.stringify(sdk));
  check("sdk capability().invoke runs web.read on a real page", sdk.web === fx.web_title, JSON.stringify(sdk.web));
  check("sdk secrets.* are refused", sdk.refused === "AgentosError denied 403", sdk.refused);
  check("sdk observe sees the write", sdk.observed);

  // 8b. A page of another origin (configured in bridge.origins, so CORS
  //     lets it import the SDK) gets no token: not from /sdk.js, not
  //     by reading the UI page, not through a classic <script src>.
  const other = await context.newPage();
  await other.goto(fx.cross_url + "/");
  const cross = await other.evaluate(async ({bridge, token}) => {
    const out = {};
    try {
      const {default: sdk} = await import(bridge + "/sdk.js");
      out.imported = true;
      out.hasToken = sdk.hasToken();
    } catch (e) {
      out.imported = false;
      out.importError = String(e);
    }
    const read = async (p) => {
      try {
        return (await (await fetch(bridge + p)).text()).includes(token);
      } catch {
        return false; // no CORS: unreadable
      }
    };
    out.sdkText = await read("/sdk.js");
    out.uiPage = await read("/");
    out.classic = await new Promise((resolve) => {
      const s = document.createElement("script");
      s.src = bridge + "/sdk.js";
      s.onload = s.onerror = () => resolve(document.documentElement.outerHTML.includes(token) || JSON.stringify(Object.keys(globalThis)).includes(token));
      document.head.appendChild(s);
    });
    return out;
  }, {bridge: base, token: fx.token});
  await other.close();
  check("a page of another origin imports sdk.js but gets no token", cross.imported && cross.hasToken === false, JSON.stringify(cross));
  check("nor reads it from sdk.js, the UI page or a classic include", !cross.sdkText && !cross.uiPage && !cross.classic, JSON.stringify(cross));

  // 9. The picture: a node with its values, links and history, beside the
  //    live feed.
  await page.goto(base + "/#/node/" + fx.task_id);
  await page.locator("ol.history li.change").first().waitFor();
  await feed.locator("li.event").first().waitFor();
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.mouse.move(700, 890); // no hover highlight in the picture
  await page.screenshot({path: shotPath});
  result.screenshot = shotPath;
}

try {
  await run();
  // Late console errors (a request still in flight) count too.
  await page.waitForTimeout(300);
  // The refused secrets.list is the one expected 403: the browser logs it.
  const dropOnce = (list, match) => {
    const i = list.findIndex(match);
    if (i >= 0) list.splice(i, 1);
  };
  dropOnce(result.console_errors, (e) => e.includes("403") && e.includes("/api/call"));
  dropOnce(result.failed_requests, (e) => e.startsWith("POST ") && e.endsWith("/api/call: HTTP 403"));
  check("no console errors", result.console_errors.length === 0, result.console_errors.join(" | "));
  check("no failed requests", result.failed_requests.length === 0, result.failed_requests.join(" | "));
  result.ok = true;
} catch (e) {
  result.error = e.stack || String(e);
  try {
    const failShot = shotPath.replace(/\.png$/, "-failure.png");
    await page.screenshot({path: failShot, fullPage: true});
    result.screenshot = failShot;
  } catch {
    // no screenshot of a page that is gone
  }
} finally {
  await browser.close().catch(() => {});
  stdin.close();
}
console.log("RESULT " + JSON.stringify(result));
