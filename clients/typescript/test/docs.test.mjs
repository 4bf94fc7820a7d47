// The API reference page, GET /docs, in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core): it renders every operation
// of /openapi.json under the page's own Content-Security-Policy, loads
// nothing from another origin, and leaves a screenshot in docs/api-docs.png
// (shown by the README).
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { repoRoot, startAuthstore } from './helpers.mjs';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const screenshot = join(repoRoot, 'docs', 'api-docs.png');

describe('GET /docs in headless Chromium', () => {
  let auth, browser;

  before(async () => {
    auth = await startAuthstore();
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
    });
  });
  after(async () => {
    await browser?.close();
    await auth?.stop();
  });

  it('lists every operation of openapi.json, with no CSP violation and nothing off-site', async () => {
    const doc = await (await fetch(`${auth.url}/openapi.json`)).json();
    const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
    const want = Object.entries(doc.paths)
      .flatMap(([path, item]) => Object.keys(item).filter((m) => methods.includes(m)).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    assert.ok(want.length >= 10, `only ${want.length} operations in openapi.json`);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = [];
    const origins = new Set();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
    });
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.protocol !== 'data:') origins.add(u.origin);
    });
    const res = await page.goto(`${auth.url}/docs`);
    assert.equal(res.status(), 200);
    await page.waitForSelector('.opblock-summary-path', { timeout: 15_000 });
    await page.waitForFunction((n) => document.querySelectorAll('.opblock').length >= n, want.length, { timeout: 15_000 });

    const listed = (
      await page.$$eval('.opblock', (blocks) =>
        blocks.map((b) => {
          const method = b.querySelector('.opblock-summary-method')?.textContent.trim();
          const path = b.querySelector('.opblock-summary-path')?.getAttribute('data-path');
          return `${method} ${path}`;
        }),
      )
    ).sort();
    assert.deepEqual(listed, want);
    assert.deepEqual(problems, [], 'the page logged errors (a CSP violation is one)');
    assert.deepEqual([...origins], [auth.url], 'the page loaded something from another origin');

    await mkdir(join(repoRoot, 'docs'), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    await page.close();
  });
});
