// Drives the web UI's drawings of the graph in headless Chromium with
// playwright-core, for TestGraphViewsInChromium (graphviews_e2e_test.go).
// Environment: GV_URL (the bridge), GV_SHOTS (a folder for screenshots),
// GV_NODE_MODULES (holding playwright-core), GV_CHROMIUM (the browser), and
// GV_IDS, the seeded nodes' ids as JSON ({garden, ada, task1, seed, hub}).
//
// With the garden's page open, the script prints "CREATE" and the Go test
// creates a task linked to the garden over the socket, answering
// "CREATED <id>". The last stdout line is "RESULT <json>": {ok, checks,
// console_errors, failed_requests, error}.

import path from "node:path";
import {playwright, answers, checker, chromiumArgs, watchPage} from "./browserkit.mjs";

const {chromium} = playwright(process.env.GV_NODE_MODULES);

const base = process.env.GV_URL;
const shots = process.env.GV_SHOTS;
const ids = JSON.parse(process.env.GV_IDS);
const result = {ok: false, checks: [], console_errors: [], failed_requests: [], error: ""};

// Answers from the Go test, one line each.
const stdin = answers();
const nextLine = stdin.next;

const check = checker(result, "graphviews");

const browser = await chromium.launch({
  executablePath: process.env.GV_CHROMIUM,
  args: chromiumArgs,
});

async function newPage(timezoneId) {
  const context = await browser.newContext({viewport: {width: 1440, height: 1000}, colorScheme: "light", locale: "en-US", timezoneId});
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  watchPage(page, result);
  return page;
}

const ring = (page, n) => page.locator(`svg.graph-map a.map-node[data-ring="${n}"]`);
const labels = async (loc) => (await loc.evaluateAll((els) => els.map((e) => e.getAttribute("aria-label")))).sort();

try {
  const page = await newPage("UTC");

  // The neighbourhood of the garden: its six neighbours, by title.
  await page.goto(`${base}/#/node/${ids.garden}`);
  await page.locator("svg.graph-map a.map-center").waitFor();
  let near = await labels(ring(page, 1));
  check("the neighbourhood shows the neighbours by title", near.length === 6 &&
    ["Ada Lovelace, person", "Buy seeds, task", "Plant tomatoes, task", "Harvest, task", "Soil notes, note", "Frost dates, note"].every((t) => near.includes(t)),
  near.join(" | "));
  check("no second ring at depth 1", await ring(page, 2).count() === 0);
  const tip = await page.locator(`svg.graph-map a.map-node[data-id="${ids.ada}"] title`).textContent();
  check("hovering a node names its title and shape", tip === "Ada Lovelace (person)", tip);
  const edgeText = await page.locator("svg.graph-map .map-edge-label").allTextContents();
  check("edges carry their labels", edgeText.includes("project") && edgeText.includes("owner"), edgeText.join(" | "));
  const where = await page.locator(`svg.graph-map a.map-node[data-id="${ids.ada}"]`).getAttribute("transform");
  await page.reload();
  await page.locator("svg.graph-map a.map-center").waitFor();
  const again = await page.locator(`svg.graph-map a.map-node[data-id="${ids.ada}"]`).getAttribute("transform");
  check("the same graph is drawn the same way", where === again, `${where} then ${again}`);
  await page.locator("details.map-alt summary").click();
  const alt = await page.locator("details.map-alt").innerText();
  check("a text alternative lists the neighbours", alt.includes("One step away") && alt.includes("Ada Lovelace (person)"), alt);
  await page.screenshot({path: path.join(shots, "graph-neighbourhood.png"), fullPage: true});

  // Live: a task linked to the garden over the socket appears.
  console.log("CREATE");
  const created = (await nextLine(30000)).replace(/^CREATED /, "");
  await page.locator(`svg.graph-map a.map-node[data-id="${created}"]`).waitFor({timeout: 15000});
  near = await labels(ring(page, 1));
  check("a node linked over the socket appears without a reload", near.includes("Compost bin, task") && near.length === 7, near.join(" | "));

  // Depth 2 adds the second ring.
  await page.locator(".map-depth a", {hasText: "2 steps"}).click();
  await page.waitForFunction(() => location.hash.endsWith("?depth=2"));
  await ring(page, 2).first().waitFor();
  const far = await labels(ring(page, 2));
  check("depth 2 adds the second ring", far.includes("Seed order, note") && (await ring(page, 1).count()) === 7, far.join(" | "));

  // Keyboard: a node is focusable and Enter goes there.
  await page.goto(`${base}/#/node/${ids.garden}`);
  await page.locator("svg.graph-map a.map-center").waitFor();
  await page.locator(`svg.graph-map a.map-node[data-id="${ids.task1}"]`).focus();
  await page.keyboard.press("Enter");
  await page.waitForFunction((id) => location.hash === `#/node/${id}`, ids.task1);
  await page.locator("h1", {hasText: "Buy seeds"}).waitFor();
  check("Enter on a focused node goes there", true, await page.evaluate(() => location.hash));
  // A click navigates.
  await page.locator(`svg.graph-map a.map-node[data-id="${ids.garden}"]`).click();
  await page.waitForFunction((id) => location.hash === `#/node/${id}`, ids.garden);
  await page.locator("h1", {hasText: "Garden planner"}).waitFor();
  check("a click on a neighbour goes there", true, await page.evaluate(() => location.hash));

  // 500 neighbours are grouped by shape, and a group opens.
  await page.goto(`${base}/#/node/${ids.hub}`);
  const group = page.locator('svg.graph-map g.map-group[data-group="note"]');
  await group.waitFor();
  const drawnBefore = await page.locator("svg.graph-map a.map-node").count();
  const groupText = await group.locator("text").first().textContent();
  check("500 neighbours are grouped by shape with their count", drawnBefore <= 201 && groupText === "500", `${drawnBefore} drawn, group says ${groupText}`);
  await page.screenshot({path: path.join(shots, "graph-clustered.png"), fullPage: true});
  await group.click();
  await page.waitForFunction(() => document.querySelectorAll("svg.graph-map a.map-node").length > 500);
  check("a group opens on click", await page.locator("svg.graph-map a.map-node").count() === 501);

  // The overview: shapes sized by count and the labels between them.
  await page.goto(`${base}/#/`);
  await page.locator("svg.overview-map a[data-shape=task]").waitFor();
  const taskLabel = await page.locator("svg.overview-map a[data-shape=task]").getAttribute("aria-label");
  const table = await page.locator("table.overview-links").innerText();
  check("the overview draws shapes with their counts", taskLabel === "task: 4 nodes", taskLabel);
  check("the overview lists the labels that connect shapes", /task\s+project\s+project\s+4/.test(table) && /note\s+project\s+project\s+502/.test(table), table);
  await page.screenshot({path: path.join(shots, "graph-overview.png"), fullPage: true});

  // The timeline, in Los Angeles: dates in order, a date-only due shown as
  // the date it is (Apr 15), never the day before.
  const la = await newPage("America/Los_Angeles");
  await la.goto(`${base}/#/shape/task`);
  await la.locator('a[href="#/timeline/task?field=due"]').click();
  await la.locator("ol.timeline").waitFor();
  const heads = await la.locator("ol.timeline .timeline-date").allTextContents();
  check("the timeline orders by date", heads.length === 3 && heads[0].includes("Mar 1, 2027") && heads[1].includes("Apr 15, 2027") && heads[2].includes("May 20, 2027"), heads.join(" | "));
  const april = await la.locator(".timeline-day", {hasText: "Apr 15"}).innerText();
  check("2027-04-15 is Apr 15 in Los Angeles", april.includes("Buy seeds") && !heads.some((t) => t.includes("Apr 14")), april);
  await la.screenshot({path: path.join(shots, "graph-timeline.png"), fullPage: true});

  check("no console errors", result.console_errors.length === 0, result.console_errors.join(" | "));
  check("no failed requests", result.failed_requests.length === 0, result.failed_requests.join(" | "));
  result.ok = true;
} catch (e) {
  result.error = e.message;
} finally {
  await browser.close().catch(() => {});
  stdin.close();
}
console.log("RESULT " + JSON.stringify(result));
