// Open the demo's GraphiQL in headless Chromium as a person would, run one example operation
// from the run button's menu, read the answer off the result pane, and take a screenshot.
//
//   node tests/browser/graphiql.mjs <graphiql url> <screenshot.png> [operation]
//
// Prints one JSON object on stdout and exits 0 when the page worked, 1 when it did not.
// The page loads React, GraphiQL and friends from their CDN with SRI hashes. The test runs
// offline, so every such request is answered from ./node_modules, which package-lock.json
// pins to the versions the page asks for: the browser still checks the hashes, so the page
// runs exactly as a user's browser would run it.

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const HERE = dirname(fileURLToPath(import.meta.url));
const MODULES = join(HERE, "node_modules");
const CHROMIUM = process.env.HUB_CHROMIUM || "/usr/bin/chromium";
const TYPES = {
  ".js": "application/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
};

// Logged by GraphiQL's own menus on every page whose body has overflow:hidden, as strawberry's has.
const HARMLESS = [/^react-remove-scroll-bar: cannot calculate scrollbar size/];

const [url, screenshot, operation = "VenueScan"] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error("usage: node graphiql.mjs <graphiql url> <screenshot.png> [operation]");
  process.exit(2);
}

const report = {
  url,
  screenshot,
  operation,
  served: [], // unpkg files answered from node_modules
  refused: [], // requests that left loopback and were not unpkg
  problems: [], // why the run failed; empty when it passed
  consoleErrors: [],
};

/** `/@scope/name@1.2.3/path` -> the file in node_modules, if its installed version is 1.2.3. */
function localFile(pathname) {
  const match = /^\/((?:@[^/]+\/)?[^/@]+)@([^/]+)\/(.+)$/.exec(decodeURIComponent(pathname));
  if (!match) return { error: `not a package@version/file address: ${pathname}` };
  const [, name, version, file] = match;
  const root = join(MODULES, name);
  const manifest = join(root, "package.json");
  if (!existsSync(manifest)) return { error: `${name} is not installed (npm ci in tests/browser)` };
  const installed = JSON.parse(readFileSync(manifest, "utf8")).version;
  if (installed !== version) {
    return { error: `page asks for ${name}@${version}, tests/browser has ${installed}` };
  }
  const path = resolve(root, file);
  if (!path.startsWith(root + "/") || !existsSync(path)) {
    return { error: `${name}@${version} has no ${file}` };
  }
  return { path };
}

async function main() {
  if (!existsSync(CHROMIUM)) {
    report.problems.push(`no Chromium at ${CHROMIUM}: run make browser-deps`);
    return;
  }
  const profile = mkdtempSync(join(tmpdir(), "hub-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    await context.route("**/*", async (route) => {
      const address = new URL(route.request().url());
      if (address.hostname === "127.0.0.1" || address.hostname === "localhost") {
        return route.continue();
      }
      if (address.origin === "https://unpkg.com") {
        const found = localFile(address.pathname);
        if (found.error) {
          report.problems.push(found.error);
          return route.fulfill({ status: 404, body: found.error });
        }
        report.served.push(address.href);
        return route.fulfill({
          status: 200,
          // crossorigin + integrity make this a CORS request: unpkg answers with this header too
          headers: {
            "Content-Type": TYPES[extname(found.path)] || "application/octet-stream",
            "Access-Control-Allow-Origin": "*",
          },
          body: readFileSync(found.path),
        });
      }
      report.refused.push(address.href);
      return route.abort("internetdisconnected");
    });

    const page = context.pages()[0] || (await context.newPage());
    page.on("console", (message) => {
      const text = message.text();
      if (message.type() === "error" && !HARMLESS.some((known) => known.test(text))) {
        report.consoleErrors.push(text);
      }
    });
    page.on("pageerror", (error) => report.consoleErrors.push(String(error)));

    await page.goto(url, { waitUntil: "load" });

    // The query editor shows the example operations.
    const editor = page.locator(".graphiql-query-editor .CodeMirror");
    await editor.waitFor({ state: "visible", timeout: 15_000 });
    const examples = await editor.evaluate((node) => node.CodeMirror.getValue());
    report.operations = [...examples.matchAll(/^query (\w+)/gm)].map((m) => m[1]);
    report.editorFirstLine = examples.split("\n")[0];
    if (!report.operations.includes(operation)) {
      report.problems.push(`the editor holds no ${operation} operation`);
      return;
    }

    // Press the run button; with several operations it opens a menu of their names.
    await page.locator("button.graphiql-execute-button").click();
    await page.getByRole("menuitem", { name: operation, exact: true }).click();

    // The result pane shows the answer.
    const response = page.locator(".graphiql-response");
    await page.waitForFunction(
      () => {
        const cm = document.querySelector(".graphiql-response .CodeMirror");
        return cm && cm.CodeMirror && cm.CodeMirror.getValue().trim().startsWith("{");
      },
      null,
      { timeout: 15_000 },
    );
    const text = await response
      .locator(".CodeMirror")
      .evaluate((node) => node.CodeMirror.getValue());
    report.result = JSON.parse(text);
    report.resultPaneText = (await response.innerText()).replace(/\s+/g, " ").trim();
    report.colour = report.result?.data?.citizen?.healthCode?.colour ?? null;
    if (report.result.errors) report.problems.push(`the hub answered with errors`);
    if (!report.colour) report.problems.push("the result pane shows no colour");
    else if (!report.resultPaneText.includes(report.colour)) {
      report.problems.push(`${report.colour} is in the result but not visible in the pane`);
    }
    await page.mouse.move(0, 0); // no tooltip over the result
    await page.screenshot({ path: screenshot });
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (error) {
  report.problems.push(String(error?.stack || error));
}
if (report.consoleErrors.length) report.problems.push("the page logged errors");
console.log(JSON.stringify(report, null, 2));
process.exit(report.problems.length ? 1 : 0);
