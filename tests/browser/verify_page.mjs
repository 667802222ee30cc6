// Drives Taito's /verify page in the system Chromium with JavaScript turned off, as an employer
// would use it: tab to the skip link, paste each credential, submit, read the verdict and checks.
//
// usage: node verify_page.mjs BASE_URL CREDENTIAL_FILE... SCREENSHOT_DIR
// Prints {"results": [...]} on stdout, one result per credential file; a screenshot of each result
// is saved as SCREENSHOT_DIR/verify-<file name without extension>.png.
import { mkdir, readFile } from "node:fs/promises";
import { basename, extname, join } from "node:path";
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

async function verify(browser, base, file, screenshots) {
  const name = basename(file, extname(file));
  const text = await readFile(file, "utf8");
  // No JavaScript: the page must work as plain HTML forms.
  const context = await browser.newContext({
    javaScriptEnabled: false,
    viewport: { width: 1024, height: 800 },
  });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const blocked = [];
  page.on("console", (message) => {
    if (message.type() === "error") blocked.push(message.text());
  });
  const form = await page.goto(`${base}/verify`);
  await page.keyboard.press("Tab");
  const firstFocus = await page.locator(":focus").textContent();

  await page.getByLabel("Credential (JSON, JWT or SD-JWT)").fill(text);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(`${base}/verify`) && r.request().method() === "POST"),
    page.getByRole("button", { name: "Verify" }).click(),
  ]);
  await page.waitForLoadState("load");
  const verdict = page.locator("#verdict");
  const checks = [];
  for (const item of await page.locator("#result > ul.checks > li").all()) {
    checks.push({
      id: await item.getAttribute("data-check"),
      status: await item.getAttribute("data-status"),
      label: (await item.locator(".check-label").textContent()).trim(),
      statusText: (await item.locator(".check-status").textContent()).trim(),
      message: (await item.locator(".check-message").textContent()).trim(),
    });
  }
  const screenshot = join(screenshots, `verify-${name}.png`);
  await page.screenshot({ path: screenshot, fullPage: true });
  const result = {
    name,
    formStatus: form.status(),
    status: response.status(),
    url: page.url(),
    title: await page.title(),
    firstFocus: firstFocus.trim(),
    verdict: (await verdict.textContent()).replace(/\s+/g, " ").trim(),
    verdictText: (await verdict.locator(".verdict-text").textContent()).trim(),
    // Computed styles show the hashed inline stylesheet was allowed by the CSP.
    verdictBackground: await page.locator(".verdict").first().evaluate(
      (node) => getComputedStyle(node).backgroundColor,
    ),
    checks,
    consoleErrors: blocked,
    screenshot,
  };
  await context.close();
  return result;
}

async function main() {
  const [base, ...rest] = process.argv.slice(2);
  const screenshots = rest.pop();
  if (!base || !screenshots || rest.length === 0) {
    console.error("usage: node verify_page.mjs BASE_URL CREDENTIAL_FILE... SCREENSHOT_DIR");
    process.exit(2);
  }
  await mkdir(screenshots, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  try {
    const results = [];
    for (const file of rest) results.push(await verify(browser, base, file, screenshots));
    process.stdout.write(JSON.stringify({ results }) + "\n");
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
