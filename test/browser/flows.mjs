// What the portal specs do more than once, written against the portal contract's routes
// (catalog/{id}, runs/{id}, runs/{id}/outputs/{path}, review/{id}) and conventions (labelled
// fields with the parameter's name, errors in #<field>-error, buttons with visible text).
import { readFile } from 'node:fs/promises';
import { assert, checkPage, field, mainText, url, visit, waitFor } from './lib.mjs';

export const smk = 'cohort-count-smk'; // egress auto: released at once
export const cwl = 'cohort-count-cwl'; // egress review: held for a data controller
export const runTimeout = 180000;

// openEntry opens a catalogue entry's page (its generated run form).
export async function openEntry(page, id, name, opts = {}) {
  await visit(page, `catalog/${id}`, name, opts);
  assert.equal(await page.locator('main form').count() >= 1, true, `catalog/${id}: no run form`);
}

// checkGeneratedForm requires the form the example schema generates: the dataset picker
// offering cohort-demo, the enum as a choice with its default, the integer with its bounds.
export async function checkGeneratedForm(page) {
  const cohort = await field(page, 'cohort');
  assert.equal(await cohort.evaluate((e) => e.required), true, 'cohort is required by the schema but not in the form');
  const cohortOptions = await cohort.evaluate((e) => (e.tagName === 'SELECT' ? [...e.options].map((o) => o.value) : null));
  if (cohortOptions) assert.ok(cohortOptions.includes('cohort-demo'), `cohort offers ${cohortOptions}`);

  const groupBy = await field(page, 'group_by');
  const choices = await groupBy.evaluate((e) => (e.tagName === 'SELECT' ? [...e.options].map((o) => o.value).filter(Boolean) : null));
  assert.deepEqual(choices, ['sex', 'age_band', 'site'], 'group_by: want a <select> of the enum');
  assert.equal(await groupBy.inputValue(), 'site', 'group_by: want the default selected');

  const minCount = await field(page, 'min_count');
  const attrs = await minCount.evaluate((e) => ({ type: e.type, min: e.min, max: e.max, value: e.value }));
  assert.deepEqual(attrs, { type: 'number', min: '5', max: '100', value: '5' }, 'min_count: want a number field with the schema bounds and default');
}

// fillCohort picks cohort-demo whether the picker is a <select> or a text field.
export async function fillCohort(page) {
  const cohort = await field(page, 'cohort');
  if ((await cohort.evaluate((e) => e.tagName)) === 'SELECT') await cohort.selectOption('cohort-demo');
  else await cohort.fill('cohort-demo');
}

// submitButton is the run form's submit button.
export function submitButton(page) {
  return page.locator('main form').getByRole('button', { name: /run|submit|start/i }).first();
}

// submitRun fills the open entry's form with the defaults and cohort-demo, submits it and
// returns the new run's id from the run page it lands on.
export async function submitRun(page, name, opts = {}) {
  await fillCohort(page);
  await Promise.all([page.waitForURL(/\/runs\/[^/]+$/, { timeout: 30000 }), submitButton(page).click()]);
  await checkPage(page, name, opts);
  return runIdOf(page);
}

export function runIdOf(page) {
  const m = new URL(page.url()).pathname.match(/\/runs\/([^/]+)$/);
  assert.ok(m, `not a run page: ${page.url()}`);
  return decodeURIComponent(m[1]);
}

// watchUntil waits on the open run page until the run has ended, and requires it to have
// ended in state. The page follows the run's state in place (#run-state, polled by the
// portal's script) and reloads itself once when the run ends, to show its outputs; a
// MutationObserver records in sessionStorage (which outlives that reload) that the state
// changed in place first. (With JavaScript off the caller reloads instead.)
export async function watchUntil(page, state) {
  const watching = await page.evaluate(() => {
    const el = document.getElementById('run-state');
    if (!el) return 'missing';
    if (!el.hasAttribute('data-status-url')) return 'ended'; // already over when the page was made
    sessionStorage.removeItem('enclave-live-state');
    new MutationObserver(() => sessionStorage.setItem('enclave-live-state', el.textContent))
      .observe(el, { childList: true, characterData: true, subtree: true });
    return 'watching';
  });
  assert.notEqual(watching, 'missing', 'the run page has no #run-state');
  // A page made after the run ended carries no data-reload.
  await waitFor(page, () => {
    const el = document.getElementById('run-state');
    return !!el && !el.hasAttribute('data-reload') && document.readyState === 'complete';
  }, undefined, runTimeout);
  const shown = (await page.locator('#run-state').innerText()).trim();
  assert.equal(shown, state, `the run ended ${shown}; want ${state}:\n${await mainText(page)}`);
  if (watching === 'watching') {
    const live = await page.evaluate(() => sessionStorage.getItem('enclave-live-state'));
    assert.ok(live, 'the run state never changed in place before the page reloaded; want live updates');
  }
}

// downloadLink is the run page's download link for a released file.
export function downloadLink(page, runId, path) {
  return page.locator(`main a[href$="runs/${encodeURIComponent(runId)}/outputs/${path}"], main a[href$="runs/${runId}/outputs/${path}"]`).first();
}

// download clicks the file's download button and returns what the browser saved.
export async function download(page, runId, path) {
  const link = downloadLink(page, runId, path);
  assert.equal(await link.count(), 1, `no download link for ${path} on the run page:\n${await mainText(page)}`);
  assert.match(await link.innerText(), /\S/, 'the download link has no visible text');
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), link.click()]);
  const failure = await dl.failure();
  assert.equal(failure, null, `download of ${path} failed: ${failure}`);
  return readFile(await dl.path(), 'utf8');
}

// fieldError requires the server's error for name next to its field: #<name>-error with
// text, referenced by the field's aria-describedby.
export async function fieldError(page, name, re) {
  const err = page.locator(`[id="${name}-error"]`);
  assert.equal(await err.count(), 1, `no #${name}-error on the page:\n${await mainText(page)}`);
  assert.equal(await err.isVisible(), true, `#${name}-error is not visible`);
  assert.match(await err.innerText(), re);
  const f = await field(page, name);
  const describedBy = (await f.getAttribute('aria-describedby')) ?? '';
  assert.ok(describedBy.split(/\s+/).includes(`${name}-error`), `${name}'s aria-describedby is "${describedBy}"; want it to name ${name}-error`);
}

// postWithoutToken posts a valid-looking run form from the page's own origin (with its
// cookies) but without the csrf field, and returns the status.
export async function postWithoutToken(page, rel, form) {
  return page.evaluate(async ([target, fields]) => {
    const r = await fetch(target, { method: 'POST', body: new URLSearchParams(fields), credentials: 'same-origin', redirect: 'manual' });
    return r.status;
  }, [url(rel), form]);
}
