/**
 * The status page in a real browser (Debian's chromium, driven by
 * playwright-core) while `spot-ingest start` ingests: it must show the
 * pipeline, a non-zero record count, the reason of a rejected line and the
 * partition browser's rows. With SPOT_SCREENSHOT=1 it refreshes docs/status-page.png
 * (the README's picture); otherwise the screenshot goes to the temp directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { makeProxyRecords, proxyLog } from '../helpers/proxy-lines.ts';
import { liveStart } from './live.ts';

const CHROMIUM = '/usr/bin/chromium';
const missing = !existsSync(CHROMIUM);
if (missing) console.warn(`\n*** SKIPPING the status page browser test: ${CHROMIUM} is missing (apt-get install -y chromium) ***\n`);

test('status page: live ingest shows the pipeline, records, a quarantine reason and hour partitions', { skip: missing ? `${CHROMIUM} missing (apt-get install -y chromium)` : false }, async () => {
  const live = await liveStart('proxy', ['--workers', '2']);
  const profile = mkdtempSync(join(tmpdir(), 'spot-chromium-'));
  let browser: BrowserContext | undefined;
  try {
    // A fresh profile directory (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 1100 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    const page = browser.pages()[0] ?? await browser.newPage();
    const external: string[] = [];
    page.on('request', (r) => { if (!r.url().startsWith(live.url)) external.push(r.url()); });
    await page.goto(live.url);
    const section = page.locator('section.pipeline[data-pipeline="proxy"]');
    await section.waitFor({ timeout: 15_000 });

    // Files arrive while the page is open.
    const start = Date.UTC(2016, 4, 3, 21, 40);
    live.ws.drop('proxy', 'bluecoat-a.log', proxyLog(makeProxyRecords(1500, { seed: 1, startMs: start, stepMs: 2_000 })) + '2016-05-03 00:00:01 only-three-fields\n<134>May  3 21:40:00 proxysg1 bcproxy: not a record\n');
    live.ws.drop('proxy', 'bluecoat-b.log', proxyLog(makeProxyRecords(900, { seed: 2, startMs: start + 3_600_000, stepMs: 3_000 })));

    const written = section.locator('[data-testid="records-written"] .v');
    await page.waitForFunction(() => document.querySelector('section[data-pipeline="proxy"] [data-testid="records-written"] .v')?.textContent === '2,400',
      undefined, { timeout: 60_000 });
    assert.equal(await written.textContent(), '2,400');
    assert.match((await section.locator('h2').textContent())!, /^proxy/);
    const quarantine = await section.locator('[data-testid="quarantine"]').textContent();
    assert.match(quarantine!, /1 record\(s\) rejected, first: .*field/);
    assert.match(quarantine!, /bluecoat-a\.log/);
    await page.waitForFunction(() => /skipped_lines\s*1/.test(document.querySelector('section[data-pipeline="proxy"] [data-testid="counts"]')?.textContent ?? ''),
      undefined, { timeout: 15_000 });
    assert.match((await section.locator('[data-testid="counts"]').textContent())!, /skipped_lines\s*1/, 'the dissector counts are shown');
    const hours = section.locator('[data-testid="hours"] tbody tr');
    const rows = await hours.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 4).map((td) => td.textContent)));
    const byHour = Object.fromEntries(rows.map((r) => [r[1], Number(r[3]!.replace(/,/g, ''))]));
    assert.deepEqual(rows.map((r) => r[0]), rows.map(() => 'proxy'));
    assert.equal(Object.values(byHour).reduce((a, b) => a + b, 0), 2400);
    assert.ok(Object.keys(byHour).includes('2016-05-03 21') && Object.keys(byHour).includes('2016-05-03 23'), JSON.stringify(byHour));
    assert.match((await section.locator('[data-testid="last-file"]').textContent())!, /bluecoat-[ab]\.log/);
    assert.ok(await section.locator('[data-testid="chart"] rect.bar[height]:not([height="0"])').count() >= 1, 'the chart has a bar');
    assert.deepEqual(external, [], 'the page loads nothing from elsewhere');

    mkdirSync(new URL('../../docs/', import.meta.url), { recursive: true });
    const shot = process.env.SPOT_SCREENSHOT === '1'
      ? new URL('../../docs/status-page.png', import.meta.url).pathname
      : `${(await import('node:os')).tmpdir()}/spot-status-page.png`;
    await page.screenshot({ path: shot, fullPage: true });
  } finally {
    await browser?.close();
    rmSync(profile, { recursive: true, force: true });
    await live.stop();
    live.ws.remove();
  }
});
