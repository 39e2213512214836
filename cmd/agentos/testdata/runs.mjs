// Drives the web UI's Runs view in headless Chromium with playwright-core,
// for TestAgentRunsViewInChromium (agents_e2e_test.go). Environment:
//
//   RUNS_URL           the bridge, e.g. http://127.0.0.1:40123
//   RUNS_SCREENSHOT    where to save the screenshot
//   RUNS_NODE_MODULES  the node_modules holding playwright-core
//   RUNS_CHROMIUM      the chromium binary
//
// With the Runs page open, the script prints "RUN" and the Go test starts a
// run of the napper agent (whose tool takes a few seconds), answering
// "STARTED <job>". The last stdout line is "RESULT <json>": {ok, checks,
// console_errors, failed_requests, screenshot, error}.

import path from "node:path";
import {playwright, answers, checker, chromiumArgs, watchPage} from "./browserkit.mjs";

const {chromium} = playwright(process.env.RUNS_NODE_MODULES);

const base = process.env.RUNS_URL;
const shotPath = process.env.RUNS_SCREENSHOT;
const result = {ok: false, checks: [], console_errors: [], failed_requests: [], screenshot: "", error: ""};

// Answers from the Go test, one line each.
const stdin = answers();
const nextLine = stdin.next;

const check = checker(result, "runs");

const browser = await chromium.launch({
  executablePath: process.env.RUNS_CHROMIUM,
  args: chromiumArgs,
});
const context = await browser.newContext({viewport: {width: 1440, height: 900}, colorScheme: "light", locale: "en-US", timezoneId: "UTC"});
const page = await context.newPage();
page.setDefaultTimeout(20000);
watchPage(page, result);

async function run() {
  await page.goto(base + "/#/runs");
  await page.locator("main h1").filter({hasText: "Runs"}).waitFor();
  await page.locator("main p.empty").filter({hasText: "No runs yet"}).waitFor();
  check("the Runs view opens from the header", (await page.locator('.top-nav a[href="#/runs"]').count()) === 1);

  // A run starts while the list is open: its row appears without a reload.
  console.log("RUN");
  const started = await nextLine(30000);
  check("the Go test started a run", started.startsWith("STARTED "), started);
  const row = page.locator("table.runs tbody tr").first();
  await row.waitFor();
  check("the new run is listed live", (await row.innerText()).includes("napper"), await row.innerText());
  check("it is running", (await row.locator(".badge").innerText()).includes("running"), await row.locator(".badge").innerText());

  // Its page shows the steps as they happen.
  await row.locator("a.node-link").click();
  await page.waitForFunction(() => location.hash.startsWith("#/run/"));
  await page.locator("ol.steps li.step-tool_call").filter({hasText: "Calls lab_nap"}).waitFor();
  check("a live step: the tool call", true);
  check("the steps are marked live", (await page.locator("#steps-h .badge").innerText()).includes("live"));
  await page.locator("section .run-answer").filter({hasText: "slept 4"}).waitFor({timeout: 30000});
  check("the answer shows once the run ends", true);
  const steps = await page.locator("ol.steps li").allInnerTexts();
  check("the recorded steps: call, result, answer", steps.some((s) => s.includes("Calls lab_nap")) &&
    steps.some((s) => s.includes("Result of lab_nap") && s.includes("slept")) && steps.some((s) => s.startsWith("Answer")), steps.join(" | "));
  check("the outcome is completed", (await page.locator(".page-head .badge").first().innerText()).includes("completed"));
  const agentLink = page.locator("ul.run-links a.node-link", {hasText: "napper"});
  check("the run links to its agent", (await agentLink.count()) === 1, await page.locator("ul.run-links").innerText());
  await page.mouse.move(700, 890);
  await page.screenshot({path: shotPath});
  result.screenshot = shotPath;
  await agentLink.click();
  await page.waitForFunction(() => location.hash.startsWith("#/node/"));
  await page.locator("main h1").filter({hasText: "napper"}).waitFor();
  check("the agent's link navigates to it", true);
}

try {
  await run();
  await page.waitForTimeout(300);
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
