// Passkeys in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) with a CDP virtual authenticator: a front end at
// http://localhost:PORT (a secure context) registers a passkey with the
// client, signs in with it alone, uses it as the second factor of a
// password signin, and deletes it; the same credential used from another
// origin is refused by the server.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { claims, newUser, startAuthstore } from './helpers.mjs';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const distDir = fileURLToPath(new URL('../dist/', import.meta.url));

const pageHTML = `<!doctype html>
<meta charset="utf-8">
<title>authstore passkeys test</title>
<script type="module">
import * as authstore from '/dist/index.js';
window.authstore = authstore;
window.ready = true;
</script>
`;

// startPageServer serves the page at / and the built client at /dist/, on
// 127.0.0.1, for pages opened as http://localhost:PORT.
async function startPageServer() {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(pageHTML);
      return;
    }
    const m = /^\/dist\/([\w.-]+\.js)$/.exec(path);
    if (m) {
      try {
        res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(await readFile(join(distDir, m[1])));
        return;
      } catch {
        // fall through to 404
      }
    }
    res.writeHead(404).end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://localhost:${server.address().port}`, stop: () => new Promise((r) => server.close(r)) };
}

// run evaluates fn(arg) in page, turning a rejection into { error }.
function run(page, fn, arg) {
  return page.evaluate(
    async ({ src, arg }) => {
      try {
        return { value: await (0, eval)(`(${src})`)(arg) };
      } catch (e) {
        return { error: { name: e.name, status: e.status, message: e.message, serverMessage: e.serverMessage } };
      }
    },
    { src: fn.toString(), arg },
  );
}

describe('passkeys in headless Chromium with a virtual authenticator', () => {
  let auth, site, other, browser, page, cdp, authenticatorId;

  before(async () => {
    site = await startPageServer();
    other = await startPageServer();
    auth = await startAuthstore(['--webauthn-rp-id', 'localhost', '--webauthn-origins', site.url]);
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
    page = await browser.newPage();
    // The virtual authenticator belongs to the tab and outlives its
    // navigations, so the same credential is offered on both origins.
    cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    }));
  });
  after(async () => {
    await browser?.close();
    await site?.stop();
    await other?.stop();
    await auth?.stop();
  });

  const open = async (origin) => {
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.ready === true);
    await page.evaluate((baseUrl) => {
      window.client = window.authstore.createClient({ baseUrl, lockName: null });
    }, auth.url);
  };

  it('registers a passkey, signs in with it alone and as a second factor, and deletes it', async () => {
    await open(site.url);
    const user = newUser();
    const signup = await run(page, (u) => window.client.signup(u), user);
    assert.ok(signup.value?.accessToken, JSON.stringify(signup.error));

    const reg = await run(page, () => window.client.registerPasskey('Laptop'));
    assert.equal(reg.value?.name, 'Laptop', JSON.stringify(reg.error));
    const list = await run(page, () => window.client.listPasskeys());
    assert.equal(list.value?.length, 1, JSON.stringify(list));
    assert.equal(list.value[0].id, reg.value.id);
    assert.equal(list.value[0].lastUsedAt, null);

    // A passkey alone: no login typed.
    await run(page, () => window.client.logout());
    const alone = await run(page, () => window.client.signInWithPasskey());
    assert.ok(alone.value?.accessToken, JSON.stringify(alone.error));
    assert.deepEqual(claims(alone.value.accessToken).amr, ['webauthn']);
    const me = await run(page, () => window.client.me());
    assert.equal(me.value?.login, user.login);

    // A password signin now asks for the passkey: signin rejects with
    // SecondFactorRequired, whose mfaToken the passkey completes.
    await run(page, () => window.client.logout());
    const signin = await page.evaluate(async ([login, password]) => {
      try {
        return { resolved: await window.client.signin(login, password) };
      } catch (e) {
        return { name: e.name, mfaToken: e.mfaToken, methods: e.methods, tokens: await window.client.tokens() };
      }
    }, [user.login, user.password]);
    assert.equal(signin.name, 'SecondFactorRequired', JSON.stringify(signin));
    assert.ok(signin.mfaToken, JSON.stringify(signin));
    assert.ok(signin.methods.includes('webauthn'), JSON.stringify(signin));
    assert.equal(signin.tokens, null);
    const second = await run(page, (t) => window.client.verifySecondFactorWithPasskey(t), signin.mfaToken);
    assert.ok(second.value?.accessToken, JSON.stringify(second.error));
    assert.deepEqual(claims(second.value.accessToken).amr, ['pwd', 'webauthn']);

    // Delete it: it signs in no more.
    const del = await run(page, (id) => window.client.deletePasskey(id), reg.value.id);
    assert.equal(del.error, undefined, JSON.stringify(del.error));
    assert.deepEqual((await run(page, () => window.client.listPasskeys())).value, []);
    const gone = await run(page, () => window.client.signInWithPasskey());
    assert.equal(gone.error?.status, 401, JSON.stringify(gone));
    assert.equal(gone.error?.serverMessage, 'Invalid credential');
  });

  it('refuses an assertion made on an origin that is not --webauthn-origins', async () => {
    // Only this test's credential: the authenticator would offer the first.
    await cdp.send('WebAuthn.clearCredentials', { authenticatorId });
    await open(site.url);
    const user = newUser();
    assert.ok((await run(page, (u) => window.client.signup(u), user)).value);
    const reg = await run(page, () => window.client.registerPasskey());
    assert.equal(reg.value?.name, 'Passkey', JSON.stringify(reg.error));

    // Same RP id (localhost), so the browser signs; another port, so the
    // origin is not the front end's and the server refuses.
    await open(other.url);
    const wrong = await run(page, () => window.client.signInWithPasskey());
    assert.equal(wrong.error?.status, 401, JSON.stringify(wrong));
    assert.equal(wrong.error?.serverMessage, 'Invalid credential');

    await open(site.url);
    const right = await run(page, () => window.client.signInWithPasskey());
    assert.ok(right.value?.accessToken, JSON.stringify(right.error));
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].rpId, 'localhost');
    assert.equal(credentials[0].isResidentCredential, true);
  });
});
