// The harness checks itself before any portal page is tested: Chromium starts, a page of the
// real server loads, and each page check fails on the problem it is there to catch (so a
// green portal spec means the checks ran, not that they were toothless).
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { assert, axe, checkPage, main, newContext, newPage, shot, step, url } from './lib.mjs';

const fixture = (name) => pathToFileURL(path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), 'testdata', name)).toString();

await main(async (browser) => {
  const context = await newContext(browser);
  const page = await newPage(context);

  await step('the server answers service-info in the browser', async () => {
    const resp = await page.goto(url('ga4gh/wes/v1/service-info'));
    assert.equal(resp.status(), 200);
    assert.match(resp.headers()['content-type'] ?? '', /application\/json/);
    const info = await resp.json();
    assert.equal(info.type?.artifact, 'wes', `service-info type ${JSON.stringify(info.type)}`);
    await shot(page, 'service-info');
  });

  await step('a well-formed page passes every check', async () => {
    await page.goto(fixture('good.html'));
    await checkPage(page, 'good-fixture');
  });

  await step('axe-core reports the problems of a bad page', async () => {
    const bad = await newPage(context);
    await bad.goto(fixture('bad.html'));
    const ids = (await axe(bad)).map((v) => v.id).sort();
    for (const want of ['button-name', 'html-has-lang', 'image-alt', 'label']) {
      assert.ok(ids.includes(want), `axe found ${ids.join(', ')}; want ${want} among them`);
    }
    await bad.close();
  });

  await step('checkPage fails on missing landmarks, axe violations and CSP refusals', async () => {
    const bad = await newPage(context);
    await bad.goto(fixture('bad.html'));
    await assert.rejects(checkPage(bad, 'bad-fixture'), /no <header>/);
    await assert.rejects(checkPage(bad, 'bad-fixture', { landmarks: false }), /axe-core found serious or critical problems/);
    assert.ok(bad.problems.some((p) => p.startsWith('CSP:')), `no CSP refusal seen: ${bad.problems.join('; ')}`);
    assert.notEqual(await bad.title(), 'inline script ran', 'the inline script ran despite the CSP');
    await bad.close();
  });
});
