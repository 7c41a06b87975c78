// The browser specs' shared helpers: launching Debian's Chromium through playwright-core,
// numbered steps, page checks (landmarks, axe-core, CSP errors), screenshots and Dex login.
// The Go harness (browser_test.go) runs each spec with node and passes everything through
// the environment; a spec exits non-zero on the first failed step.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export { assert };

// env returns the variable or fails at once: a spec started without its inputs is a harness bug.
export function env(name, fallback) {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') throw new Error(`${name} is not set (the Go harness sets it)`);
  return v;
}

// The npm packages live in a cache dir outside the repository (scripts/browser.sh build):
// ESM ignores NODE_PATH, so they are required from there explicitly.
const modules = env('BROWSER_NODE_MODULES');
const requireFromCache = createRequire(path.join(path.dirname(modules), 'package.json'));
const { chromium } = requireFromCache('playwright-core');
const axeSource = readFileSync(requireFromCache.resolve('axe-core/axe.min.js'), 'utf8');

export const baseURL = env('BASE_URL'); // ends in "/"
export const url = (rel = '') => new URL(rel, baseURL).toString();

// launch starts headless Chromium. --no-sandbox: CI runs as root, where Chromium's sandbox
// refuses to start; the pages under test are our own.
export async function launch() {
  return chromium.launch({
    executablePath: env('CHROMIUM'),
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

// newContext opens a fresh browser profile (own cookies) with the problems every page must
// not have collected per page: uncaught script errors and CSP refusals.
export async function newContext(browser, opts = {}) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 }, ...opts });
  context.on('page', watch);
  return context;
}

export async function newPage(context) {
  const page = await context.newPage();
  if (!page.problems) watch(page);
  return page;
}

function watch(page) {
  if (page.problems) return;
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`script error: ${err.message}`));
  page.on('console', (msg) => {
    // A CSP refusal is only reported on the console; a page that needs inline script or
    // style, or loads from elsewhere, fails here.
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) {
      page.problems.push(`CSP: ${msg.text()}`);
    }
  });
}

// ---- steps and output ------------------------------------------------------------------

const specName = path.basename(process.argv[1], '.mjs');
let stepNo = 0;

// step runs one named part of a spec and prints "ok N - name" or the failure; a failure
// ends the spec (later steps depend on earlier ones).
export async function step(name, fn) {
  stepNo++;
  const t0 = Date.now();
  try {
    await fn();
  } catch (err) {
    console.log(`not ok ${stepNo} - ${name}`);
    console.log(indent(err && err.stack ? err.stack : String(err)));
    throw new StepFailed(name);
  }
  console.log(`ok ${stepNo} - ${name} (${Date.now() - t0} ms)`);
}

class StepFailed extends Error {}

const indent = (s) => s.split('\n').map((l) => '    ' + l).join('\n');

// main runs the spec body with a browser, always closes it, and sets the exit code.
export async function main(body) {
  let browser;
  try {
    browser = await launch();
    await body(browser);
    console.log(`# ${specName}: all ${stepNo} steps passed`);
  } catch (err) {
    if (!(err instanceof StepFailed)) console.log(indent(err && err.stack ? err.stack : String(err)));
    process.exitCode = 1;
  } finally {
    // A browser that does not close in time must not keep the spec (and the Go test) waiting.
    if (browser) await Promise.race([browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 15000).unref())]);
  }
  process.exit(process.exitCode ?? 0);
}

// ---- screenshots -----------------------------------------------------------------------

const shotDir = env('SCREENSHOT_DIR');
mkdirSync(shotDir, { recursive: true });
let shotNo = 0;

// shot saves a full-page screenshot as <spec>-<nn>-<name>.png.
export async function shot(page, name) {
  shotNo++;
  const file = path.join(shotDir, `${specName}-${String(shotNo).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// ---- page checks -----------------------------------------------------------------------

// axe runs axe-core in the page (page.evaluate is not subject to the page's CSP, so the
// portal's CSP needs no exception for it) and returns the serious and critical violations.
export async function axe(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export function formatViolations(vs) {
  return vs.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.targets.join(', ')})`).join('\n');
}

// checkPage is what every portal page must pass: the contract's landmarks (<header>,
// <nav aria-label="Main">, <main> with one <h1>), no serious axe violation, no script or CSP
// error; then it saves a screenshot. opts.landmarks=false skips the landmark checks (pages
// that are not the portal's, e.g. Dex); opts.nav=false only the navigation (the login's own
// notice pages, shown to nobody logged in, have none).
export async function checkPage(page, name, opts = {}) {
  await page.waitForLoadState('load');
  const file = await shot(page, name);
  if (opts.landmarks !== false) {
    assert.equal(await page.locator('header').count() >= 1, true, `${name}: no <header>`);
    if (opts.nav !== false) {
      assert.equal(await page.locator('nav[aria-label="Main"]').count(), 1, `${name}: want one <nav aria-label="Main">`);
    }
    assert.equal(await page.locator('main').count(), 1, `${name}: want one <main>`);
    assert.equal(await page.locator('main h1, body h1').count(), 1, `${name}: want exactly one <h1>`);
  }
  // With JavaScript off axe-core cannot run in the page; those pages were checked with it on.
  if (opts.axe !== false) {
    const vs = await axe(page);
    assert.equal(vs.length, 0, `${name} (${page.url()}): axe-core found serious or critical problems:\n${formatViolations(vs)}`);
  }
  const problems = page.problems || [];
  assert.equal(problems.length, 0, `${name}: ${problems.join('\n')}`);
  return file;
}

// visit opens rel (relative to BASE_URL), requires the HTTP status (200 unless told), checks
// the page and returns the response.
export async function visit(page, rel, name, opts = {}) {
  const resp = await page.goto(url(rel));
  const want = opts.status ?? 200;
  assert.ok(resp, `${rel}: no response`);
  assert.equal(resp.status(), want, `GET ${rel}: status ${resp.status()}, want ${want}`);
  await checkPage(page, name, opts);
  return resp;
}

// mainText is the visible text of <main>.
export async function mainText(page) {
  return page.locator('main').innerText();
}

// waitFor waits until fn(arg) is true in the page, across the page's own reloads.
export async function waitFor(page, fn, arg, timeout) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      await page.waitForFunction(fn, arg, { timeout: Math.max(1, deadline - Date.now()), polling: 250 });
      return;
    } catch (err) {
      if (Date.now() >= deadline || !/context was destroyed|navigat/i.test(String(err))) throw err;
      await page.waitForLoadState('load');
    }
  }
}

// field finds a form field by the id or name the generated form gives it (the parameter's
// name), and checks that a <label for> names it.
export async function field(page, name) {
  const f = page.locator(`main [id="${name}"], main [name="${name}"]`).first();
  assert.equal(await f.count(), 1, `no form field for ${name}`);
  const id = await f.getAttribute('id');
  assert.ok(id, `field ${name} has no id for its <label for>`);
  assert.equal(await page.locator(`label[for="${id}"]`).count(), 1, `field ${name} (#${id}) has no <label for="${id}">`);
  return f;
}

// ---- login at Dex ----------------------------------------------------------------------

// dexLogin fills Dex's own login page (the real one, as a person would) with user's e-mail
// and password and submits it; the caller has already been sent there.
export async function dexLogin(page, user, password) {
  await page.waitForURL((u) => u.toString().startsWith(env('DEX_ISSUER')), { timeout: 15000 });
  await page.locator('input[name="login"]').fill(`${user}@example.com`);
  await page.locator('input[name="password"]').fill(password);
  await shot(page, `dex-login-${user}`);
  await Promise.all([
    page.waitForURL((u) => u.toString().startsWith(baseURL), { timeout: 20000 }),
    page.locator('button[type="submit"]').click(),
  ]);
}
