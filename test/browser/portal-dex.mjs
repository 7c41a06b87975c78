// The portal of a sealed zone with login at a real Dex: researchers run catalogue workflows
// from the generated form and download what is released; a data controller previews and
// approves a file held for review; the defences hold.
import {
  assert, checkPage, dexLogin, env, field, mainText, main, newContext, newPage, shot, step, url, visit,
} from './lib.mjs';
import * as flow from './flows.mjs';

const expected = env('EXPECT_SUMMARY');
const password = env('PASSWORD');
const dexIssuer = env('DEX_ISSUER');

// login opens rel while logged out, follows the portal to Dex's login page, logs in as user
// and requires to land back on rel.
async function login(page, user, rel = 'catalog') {
  await page.goto(url(rel));
  await dexLogin(page, user, password);
  assert.equal(new URL(page.url()).pathname, new URL(url(rel)).pathname, `after login ${user} landed on ${page.url()}; want ${rel}`);
  await checkPage(page, `${user}-logged-in`);
  const header = await page.locator('header').innerText();
  assert.match(header, new RegExp(user), `the header does not name ${user}: ${header}`);
  assert.equal(await page.locator('header').getByRole('button', { name: /log out/i }).count(), 1, 'no Log out button');
  assert.doesNotMatch(await page.locator('body').innerText(), /Authentication is off/);
}

// sessionCookies are the portal's cookies other than the CSRF one.
async function sessionCookies(context) {
  return (await context.cookies(url(''))).filter((c) => c.name !== 'enclave_csrf');
}

await main(async (browser) => {
  const alice = await newPage(await newContext(browser));
  let smkRun, cwlRun, bobRun;

  await step('a page needs login: the portal sends alice to Dex, and back after it', async () => {
    await login(alice, 'alice');
    const cookies = await sessionCookies(alice.context());
    assert.ok(cookies.length >= 1, 'no session cookie after login');
    for (const c of cookies) {
      assert.equal(c.httpOnly, true, `cookie ${c.name} is readable by scripts`);
      assert.equal(c.sameSite, 'Lax', `cookie ${c.name} is SameSite=${c.sameSite}`);
    }
    const nav = alice.locator('nav[aria-label="Main"]');
    assert.equal(await nav.getByRole('link', { name: 'Review' }).count(), 0, 'a researcher sees Review');
    assert.equal(await nav.getByRole('link', { name: 'Audit' }).count(), 0, 'a researcher sees Audit');
  });

  await step('the generated form shows a bad parameter at its field', async () => {
    await flow.openEntry(alice, flow.smk, 'alice-entry');
    await flow.checkGeneratedForm(alice);
    await flow.fillCohort(alice);
    // The browser would stop min_count=3 itself (min="5"); the server must too.
    await alice.locator('main form').first().evaluate((f) => { f.noValidate = true; });
    await (await field(alice, 'min_count')).fill('3');
    const [resp] = await Promise.all([alice.waitForNavigation(), flow.submitButton(alice).click()]);
    assert.ok(resp.status() >= 400 && resp.status() < 500, `a bad parameter answered ${resp.status()}; want 4xx`);
    await checkPage(alice, 'alice-field-error');
    await flow.fieldError(alice, 'min_count', /5/);
  });

  await step('a form without its CSRF token is refused with a 403 page', async () => {
    await flow.openEntry(alice, flow.smk, 'alice-entry-again');
    await flow.fillCohort(alice);
    await alice.locator('main form input[name="csrf"]').first().evaluate((e) => e.remove());
    const [resp] = await Promise.all([alice.waitForNavigation(), flow.submitButton(alice).click()]);
    assert.equal(resp.status(), 403);
    await checkPage(alice, 'alice-csrf-refused');
    const status = await flow.postWithoutToken(alice, `catalog/${flow.smk}/run`, { cohort: 'cohort-demo', group_by: 'site', min_count: '5' });
    assert.equal(status, 403, `a scripted post without the token answered ${status}`);
  });

  await step('alice runs the Snakemake example and downloads the released file', async () => {
    await flow.openEntry(alice, flow.smk, 'alice-entry-smk');
    smkRun = await flow.submitRun(alice, 'alice-run-smk');
    await flow.watchUntil(alice, 'COMPLETE');
    await checkPage(alice, 'alice-run-smk-complete');
    assert.equal(await flow.download(alice, smkRun, 'results/summary.csv'), expected);
  });

  await step('alice runs the CWL example, whose result waits for review', async () => {
    await flow.openEntry(alice, flow.cwl, 'alice-entry-cwl');
    cwlRun = await flow.submitRun(alice, 'alice-run-cwl');
    await flow.watchUntil(alice, 'COMPLETE');
    await checkPage(alice, 'alice-run-cwl-pending');
    assert.match(await mainText(alice), /pending/i, 'the run page does not say the file is pending review');
    assert.equal(await flow.downloadLink(alice, cwlRun, 'outputs/summary.csv').count(), 0, 'a pending file has a download link');
  });

  await step("bob's run is a 404 page for alice", async () => {
    const bob = await newPage(await newContext(browser));
    await login(bob, 'bob');
    await flow.openEntry(bob, flow.smk, 'bob-entry');
    bobRun = await flow.submitRun(bob, 'bob-run');
    await visit(alice, `runs/${bobRun}`, 'alice-foreign-run', { status: 404 });
    assert.doesNotMatch(await mainText(alice), new RegExp(bobRun), 'the 404 page shows the foreign run id');
    const resp = await alice.goto(url(`runs/${bobRun}/outputs/results/summary.csv`));
    assert.equal(resp.status(), 404, "alice may download bob's output");
    await bob.context().close();
  });

  await step('carol, a data controller, previews the pending file and approves it', async () => {
    const carol = await newPage(await newContext(browser));
    await login(carol, 'carol', 'review');
    assert.equal(await carol.locator('nav[aria-label="Main"]').getByRole('link', { name: 'Review' }).count(), 1, 'no Review link for a data controller');
    const queued = carol.locator(`main a[href$="review/${cwlRun}"]`);
    assert.equal(await queued.count() >= 1, true, `the review queue does not list run ${cwlRun}:\n${await mainText(carol)}`);
    await Promise.all([carol.waitForURL(new RegExp(`review/${cwlRun}$`)), queued.first().click()]);
    await checkPage(carol, 'carol-review');
    const text = await mainText(carol);
    for (const line of expected.trim().split(/\r?\n/)) {
      const [site] = line.split(',');
      assert.ok(text.includes(site), `the preview does not show "${site}":\n${text}`);
    }
    await decide(carol, 'approve');
    await checkPage(carol, 'carol-review-decided');
    assert.match(await mainText(carol), /approved|released/i, 'the review page does not show the decision');
    await carol.context().close();
  });

  await step('after the approval alice downloads the reviewed file', async () => {
    await visit(alice, `runs/${cwlRun}`, 'alice-run-cwl-released');
    assert.equal(await flow.download(alice, cwlRun, 'outputs/summary.csv'), expected);
  });

  await step('a lost session returns to login, and back to the page after it', async () => {
    const ctx = alice.context();
    const cookies = await sessionCookies(ctx);
    await ctx.clearCookies();
    await ctx.addCookies(cookies.map((c) => ({ ...c, value: c.value.slice(0, -4) + 'AAAA' })));
    await alice.goto(url('runs'));
    await checkPage(alice, 'alice-session-ended', { nav: false });
    assert.match(await alice.locator('h1').innerText(), /session has ended/i, `with a forged session cookie GET runs showed ${alice.url()}`);
    assert.equal(await alice.locator('nav[aria-label="Main"]').count(), 0, 'the portal still shows its navigation without a session');
    await alice.locator('main').getByRole('link', { name: /log in/i }).click();
    await dexLogin(alice, 'alice', password);
    assert.match(new URL(alice.url()).pathname, /\/runs$/);
    await checkPage(alice, 'alice-runs-after-relogin');
    assert.ok(await alice.locator(`main a[href$="runs/${smkRun}"]`).count() >= 1, 'the runs list lost alice\'s run');
  });

  await step('dave, an admin, sees the audit log', async () => {
    const dave = await newPage(await newContext(browser));
    await login(dave, 'dave', 'audit');
    assert.equal(await dave.locator('nav[aria-label="Main"]').getByRole('link', { name: 'Audit' }).count(), 1, 'no Audit link for an admin');
    await visit(dave, `audit?run_id=${smkRun}`, 'dave-audit-run');
    assert.match(await mainText(dave), new RegExp(smkRun), 'the audit log does not show alice\'s run');
  });

  await step('log out ends the session', async () => {
    // Logging out leaves the page, for a page saying so or for the login (RP-initiated
    // logout at the provider, or the portal's start, which needs a login again). Whichever
    // it is, the browser must be allowed to follow: the CSP's form-action covers every
    // redirect after the form's POST.
    const runsPath = new URL(url('runs')).pathname;
    alice.problems.length = 0;
    await alice.locator('header').getByRole('button', { name: /log out/i }).click();
    await alice.waitForURL((u) => u.pathname !== runsPath, { timeout: 20000 }).catch(async (err) => {
      throw new Error(`after Log out the browser is still at ${alice.url()} ("${await alice.title().catch(() => '')}"); ` +
        `problems: ${alice.problems.join('; ') || 'none'}: ${err.message}`);
    });
    await alice.waitForLoadState('load');
    await shot(alice, 'alice-logged-out');
    assert.equal(await alice.getByRole('heading', { level: 1, name: /you are logged out/i }).count(), 1,
      `after Log out: ${alice.url()} is not the logged-out page`);
    assert.equal(alice.problems.length, 0, alice.problems.join('\n'));
    assert.equal((await sessionCookies(alice.context())).length, 0, 'a session cookie is left after logout');
    await alice.goto(url('runs'));
    assert.ok(alice.url().startsWith(dexIssuer), `after logout GET runs ended at ${alice.url()}; want Dex's login`);
  });
});

// decide records decision ("approve" or "reject") for every file on the open review page:
// per-file choices (radio buttons or a select labelled with the decision) and one submit
// button, or a button per decision.
async function decide(page, decision) {
  const re = new RegExp(decision, 'i');
  const radios = page.locator('main').getByRole('radio', { name: re });
  if (await radios.count() > 0) {
    for (const r of await radios.all()) await r.check();
    await Promise.all([page.waitForNavigation(), page.locator('main form').getByRole('button', { name: /submit|save|record|decide|confirm/i }).first().click()]);
    return;
  }
  await Promise.all([page.waitForNavigation(), page.locator('main').getByRole('button', { name: re }).first().click()]);
}

