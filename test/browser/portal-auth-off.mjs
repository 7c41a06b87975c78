// The embedded default (`make run`): no login, the portal says authentication is off on every
// page, and a new user runs the example workflow from its generated form and downloads the
// result. Also: security headers, a phone-width layout, visible keyboard focus, and the core
// flow with JavaScript off.
import { assert, checkPage, env, mainText, newContext, newPage, main, step, url, visit } from './lib.mjs';
import * as flow from './flows.mjs';

const expected = env('EXPECT_SUMMARY');

// authOffNotice requires the notice the contract puts on every page with auth off.
async function authOffNotice(page) {
  const text = await page.locator('body').innerText();
  assert.match(text, /Authentication is off/, `${page.url()}: no "Authentication is off" notice`);
  assert.equal(await page.getByRole('button', { name: /log out/i }).count(), 0, 'a Log out button with auth off');
}

await main(async (browser) => {
  const context = await newContext(browser);
  const page = await newPage(context);
  let runId;

  await step('/ leads to the catalogue, which says authentication is off', async () => {
    await page.goto(url(''));
    assert.match(new URL(page.url()).pathname, /\/catalog$/, `/ went to ${page.url()}`);
    await checkPage(page, 'catalogue');
    await authOffNotice(page);
    const text = await mainText(page);
    for (const want of ['Count patients per group (Snakemake)', 'Count patients per group (CWL)', '1.0.0']) {
      assert.ok(text.includes(want), `the catalogue does not show "${want}":\n${text}`);
    }
    const nav = page.locator('nav[aria-label="Main"]');
    for (const link of ['Catalogue', 'Runs']) {
      assert.equal(await nav.getByRole('link', { name: link }).count(), 1, `no ${link} link in the main navigation`);
    }
  });

  await step('pages carry the security headers', async () => {
    const resp = await page.goto(url('catalog'));
    const h = resp.headers();
    const csp = h['content-security-policy'] ?? '';
    assert.match(csp, /frame-ancestors 'none'/, `CSP "${csp}"`);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, `CSP "${csp}" allows inline code or any source`);
    assert.ok(h['referrer-policy'], 'no Referrer-Policy');
    assert.equal(h['x-content-type-options'], 'nosniff');
  });

  await step('the entry page shows the form generated from the schema', async () => {
    await page.getByRole('link', { name: /Count patients per group \(Snakemake\)/ }).first().click();
    await page.waitForURL(/catalog\/cohort-count-smk$/);
    await checkPage(page, 'catalog-entry');
    await authOffNotice(page);
    await flow.checkGeneratedForm(page);
  });

  await step('submitting the form starts a run and its page shows it finish without a reload', async () => {
    runId = await flow.submitRun(page, 'run-submitted');
    await authOffNotice(page);
    await flow.watchUntil(page, 'COMPLETE');
    await checkPage(page, 'run-complete');
    const resp = await page.goto(page.url());
    assert.match(resp.headers()['cache-control'] ?? '', /no-store/, 'a page with run data may be cached');
  });

  await step('the released file downloads with the expected content', async () => {
    const got = await flow.download(page, runId, 'results/summary.csv');
    assert.equal(got, expected);
  });

  await step('the runs list shows the run', async () => {
    await visit(page, 'runs', 'runs');
    await authOffNotice(page);
    assert.equal(await page.locator(`main a[href$="runs/${runId}"]`).count() >= 1, true, `no link to run ${runId} in the list`);
  });

  await step('keyboard focus is visible', async () => {
    await page.goto(url('catalog'));
    await page.keyboard.press('Tab');
    const focus = await page.evaluate(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return null;
      const s = getComputedStyle(e);
      return { tag: e.tagName, outline: s.outlineStyle !== 'none' && s.outlineWidth !== '0px', shadow: s.boxShadow !== 'none' };
    });
    assert.ok(focus, 'Tab moved focus nowhere');
    assert.ok(focus.outline || focus.shadow, `the focused ${focus.tag} shows no outline or shadow`);
  });

  await step('at phone width pages fit the screen', async () => {
    const phone = await newPage(await newContext(browser, { viewport: { width: 375, height: 740 }, isMobile: true }));
    for (const [rel, name] of [['catalog', 'phone-catalogue'], [`catalog/${flow.smk}`, 'phone-entry'], [`runs/${runId}`, 'phone-run']]) {
      await visit(phone, rel, name);
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${rel} is ${overflow}px wider than a 375px screen`);
    }
  });

  await step('with JavaScript off the form still starts a run', async () => {
    const noJS = await newPage(await newContext(browser, { javaScriptEnabled: false }));
    await flow.openEntry(noJS, flow.smk, 'nojs-entry', { axe: false });
    const id = await flow.submitRun(noJS, 'nojs-run', { axe: false });
    assert.notEqual(id, runId);
    assert.match(await mainText(noJS), /QUEUED|INITIALIZING|RUNNING|COMPLETE/, 'the run page shows no state');
  });
});
