// Opens Taito share links (/s/{token}) in the system Chromium with JavaScript turned off, as an
// employer would: tab to the skip link, enter the link's password when it asks for one, then read
// the link's facts and, for each shared credential, its verdict and checks.
//
// usage: node share_page.mjs PLAN_FILE SCREENSHOT_DIR
//   PLAN_FILE: {"visits": [{"name": "share-open", "url": "http://...", "password": "..."?}]}
// Prints {"results": [...]} on stdout, one result per visit; each visit's page is saved as
// SCREENSHOT_DIR/<name>.png.
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.TAITO_CHROMIUM || "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const text = async (locator) => ((await locator.count()) ? (await locator.first().textContent()).replace(/\s+/g, " ").trim() : null);

async function visit(browser, step, screenshots) {
  const context = await browser.newContext({
    javaScriptEnabled: false,
    viewport: { width: 1024, height: 800 },
  });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const consoleErrors = [];
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  let response = await page.goto(step.url);
  const firstStatus = response.status();
  await page.keyboard.press("Tab");
  const firstFocus = (await page.locator(":focus").textContent()).trim();
  if (step.password !== undefined) {
    await page.getByLabel("Password").fill(step.password);
    [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST"),
      page.getByRole("button", { name: "Open" }).click(),
    ]);
    await page.waitForLoadState("load");
  }
  const credentials = [];
  for (const article of await page.locator("article.shared").all()) {
    const checks = [];
    for (const item of await article.locator(":scope > ul.checks > li").all()) {
      checks.push({
        id: await item.getAttribute("data-check"),
        status: await item.getAttribute("data-status"),
        label: (await item.locator(".check-label").textContent()).trim(),
        message: (await item.locator(".check-message").textContent()).trim(),
      });
    }
    const claims = [];
    for (const term of await article.locator("dl.claims > dt").all()) {
      claims.push((await term.textContent()).trim());
    }
    credentials.push({
      title: await text(article.locator("h2")),
      validity: await text(article.locator(".credential-validity")),
      verdict: await text(article.locator(".verdict-text")),
      verdictBackground: await article.locator(".verdict").first().evaluate(
        (node) => getComputedStyle(node).backgroundColor,
      ),
      checks,
      claims,
    });
  }
  const screenshot = join(screenshots, `${step.name}.png`);
  await page.screenshot({ path: screenshot, fullPage: true });
  const result = {
    name: step.name,
    firstStatus,
    status: response.status(),
    title: await page.title(),
    heading: await text(page.locator("h1")),
    firstFocus,
    linkExpires: await text(page.locator("#link-expires")),
    viewsLeft: await text(page.locator("#link-views")),
    notFound: await text(page.locator("#not-found")),
    passwordError: await text(page.locator("#password-error")),
    credentials,
    consoleErrors,
    screenshot,
  };
  await context.close();
  return result;
}

async function main() {
  const [planFile, screenshots] = process.argv.slice(2);
  if (!planFile || !screenshots) {
    console.error("usage: node share_page.mjs PLAN_FILE SCREENSHOT_DIR");
    process.exit(2);
  }
  const plan = JSON.parse(await readFile(planFile, "utf8"));
  await mkdir(screenshots, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  try {
    const results = [];
    for (const step of plan.visits) results.push(await visit(browser, step, screenshots));
    process.stdout.write(JSON.stringify({ results }) + "\n");
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
