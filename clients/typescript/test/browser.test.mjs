// The seed's XHR samples and the client in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core), on a page whose origin is
// not authstore's, so every call is a CORS request with credentials; and a
// password reset through a front end's pages, following the mailed link.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createClient } from '../dist/index.js';
import { mailLogArgs, newUser, startAuthstore, startResourceServer, waitMail } from './helpers.mjs';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const distDir = fileURLToPath(new URL('../dist/', import.meta.url));

// The page: it loads the client as an ES module from its own origin and
// defines xhrPost, the seed's documented XHR sample.
const pageHTML = `<!doctype html>
<meta charset="utf-8">
<title>authstore client test</title>
<script type="module">
import * as authstore from '/dist/index.js';
window.authstore = authstore;
window.xhrPost = function (url, body) {
  return new Promise(function (resolve) {
    var xhr = new XMLHttpRequest();
    xhr.withCredentials = true;
    xhr.addEventListener('readystatechange', function () {
      if (this.readyState === this.DONE) {
        resolve({ status: this.status, body: this.responseText });
      }
    });
    xhr.open('POST', url);
    xhr.setRequestHeader('Content-Type', 'application/json');
    xhr.send(body === undefined ? null : JSON.stringify(body));
  });
};
window.ready = true;
</script>
`;

// startPageServer serves the page at / and the built client at /dist/.
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
        const js = await readFile(join(distDir, m[1]));
        res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(js);
        return;
      } catch {
        // fall through to 404
      }
    }
    res.writeHead(404).end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, stop: () => new Promise((r) => server.close(r)) };
}

// installClient creates window.client in page, with a fetch that records
// each refresh request's start and end and holds it back for delayMs, so
// that refreshes of two tabs would overlap if nothing kept them apart.
// window.ended collects onSessionEnd reasons.
function installClient(page, baseUrl, { lockName, storage = 'memory', delayMs = 150 } = {}) {
  return page.evaluate(
    ({ baseUrl, lockName, storage, delayMs }) => {
      window.refreshes = [];
      window.ended = [];
      const spy = async (input, init) => {
        const req = new Request(input, init);
        if (!new URL(req.url).pathname.endsWith('/auth/refresh')) return fetch(req);
        const rec = { start: Date.now(), end: 0 };
        window.refreshes.push(rec);
        await new Promise((r) => setTimeout(r, delayMs));
        const res = await fetch(req);
        rec.end = Date.now();
        return res;
      };
      const opts = { baseUrl, fetch: spy, onSessionEnd: (r) => window.ended.push(r) };
      if (lockName !== undefined) opts.lockName = lockName;
      if (storage === 'local') opts.storage = window.authstore.localStorageStorage();
      window.client = window.authstore.createClient(opts);
    },
    { baseUrl, lockName, storage, delayMs },
  );
}

// run evaluates fn in page, turning a rejection into { error } so that an
// AuthError's fields reach Node.
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

const tokensOf = (page) => page.evaluate(() => window.client.tokens());

// waitRefreshToken waits until page's client holds refresh token rt (null:
// signed out).
const waitRefreshToken = (page, rt) =>
  page.waitForFunction(async (rt) => ((await window.client.tokens())?.refreshToken ?? null) === rt, rt, { timeout: 5000 });

describe('headless Chromium, page and authstore on different origins', () => {
  let auth, resource, site, context, userDataDir;

  before(async () => {
    auth = await startAuthstore();
    resource = await startResourceServer(auth.url);
    site = await startPageServer();
    userDataDir = await mkdtemp(join(tmpdir(), 'authstore-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
    });
  });
  after(async () => {
    await context?.close();
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
    await site?.stop();
    await resource?.stop();
    await auth?.stop();
  });

  const openPage = async () => {
    const page = await context.newPage();
    await page.goto(`${site.url}/`);
    await page.waitForFunction(() => window.ready === true);
    return page;
  };

  it('runs the seed documentation XHR samples (withCredentials) cross-origin', async () => {
    const page = await openPage();
    assert.notEqual(new URL(page.url()).origin, new URL(auth.url).origin);
    const user = newUser();
    const signup = await page.evaluate(([u, body]) => window.xhrPost(`${u}/auth/signup`, body), [auth.url, user]);
    assert.equal(signup.status, 200, signup.body);
    const signin = await page.evaluate(
      ([u, body]) => window.xhrPost(`${u}/auth/signin`, body),
      [auth.url, { login: user.login, password: user.password }],
    );
    assert.equal(signin.status, 200, signin.body);
    const { refresh_token: rt } = JSON.parse(signin.body);
    const refresh = await page.evaluate(
      ([u, rt]) => window.xhrPost(`${u}/auth/refresh?rt=${encodeURIComponent(rt)}`),
      [auth.url, rt],
    );
    assert.equal(refresh.status, 200, refresh.body);
    const next = JSON.parse(refresh.body);
    assert.equal(typeof next.access_token, 'string');
    assert.notEqual(next.refresh_token, rt);
    // Error bodies are readable cross-origin too.
    const wrong = await page.evaluate(
      ([u, body]) => window.xhrPost(`${u}/auth/signin`, body),
      [auth.url, { login: user.login, password: 'wrong-password' }],
    );
    assert.equal(wrong.status, 400);
    assert.equal(JSON.parse(wrong.body).message, 'The login or password is incorrect');
    await page.close();
  });

  it('runs the client: signin, wrapped fetch, refresh, me, errors', async () => {
    const user = newUser();
    const page = await openPage();
    await installClient(page, auth.url, { delayMs: 0 });
    const signup = await run(page, (u) => window.client.signup(u), user);
    assert.ok(signup.value?.accessToken, JSON.stringify(signup.error));
    const bad = await run(page, (u) => window.client.signin(u.login, 'wrong-password'), user);
    assert.deepEqual(bad.error, {
      name: 'AuthError', status: 400, message: 'The login or password is incorrect', serverMessage: 'The login or password is incorrect',
    });
    const invalid = await run(page, () => window.client.signup({ login: 'x' }));
    assert.equal(invalid.error?.status, 400);
    assert.ok(Array.isArray(invalid.error.serverMessage) && invalid.error.serverMessage.includes('login must be longer than or equal to 3 characters'));

    const signin = await run(page, (u) => window.client.signin(u.login, u.password), user);
    assert.ok(signin.value?.refreshToken, JSON.stringify(signin.error));
    const wrapped = await run(page, async (url) => {
      const res = await window.client.fetch(url, { method: 'POST', body: 'hello' });
      return { status: res.status, body: await res.json() };
    }, `${resource.url}/resource`);
    assert.equal(wrapped.value?.status, 200, JSON.stringify(wrapped));
    assert.equal(wrapped.value.body.body, 'hello');
    const refreshed = await run(page, () => window.client.refresh());
    assert.ok(refreshed.value, JSON.stringify(refreshed.error));
    assert.notEqual(refreshed.value.refreshToken, signin.value.refreshToken);
    if (auth.features.me) {
      const me = await run(page, () => window.client.me());
      assert.equal(me.value?.login, user.login, JSON.stringify(me));
    }
    if (auth.features.logout) {
      const out = await run(page, () => window.client.logout());
      assert.equal(out.error, undefined, JSON.stringify(out.error));
      assert.equal(await tokensOf(page), null);
    }
    await page.close();
  });

  for (const storage of ['memory', 'local']) {
    it(`two tabs (${storage} storage) refreshing at once take turns and stay signed in`, async (t) => {
      await context.clearCookies();
      const [a, b] = [await openPage(), await openPage()];
      await a.evaluate(() => localStorage.clear());
      assert.equal(await a.evaluate(() => typeof navigator.locks?.request), 'function');
      await installClient(a, auth.url, { storage });
      await installClient(b, auth.url, { storage });
      const signup = await run(a, (u) => window.client.signup(u), newUser());
      assert.ok(signup.value, JSON.stringify(signup.error));
      // The signin reaches the other tab.
      await waitRefreshToken(b, signup.value.refreshToken);

      for (let round = 0; round < 3; round++) {
        const [ra, rb] = await Promise.all([run(a, () => window.client.refresh()), run(b, () => window.client.refresh())]);
        assert.ok(ra.value && rb.value, JSON.stringify([ra.error, rb.error]));
        assert.equal(ra.value.refreshToken, rb.value.refreshToken, `round ${round}: tabs forked the session`);
      }
      const spans = [...(await a.evaluate(() => window.refreshes)), ...(await b.evaluate(() => window.refreshes))]
        .sort((x, y) => x.start - y.start);
      t.diagnostic(`3 rounds of two concurrent refresh() calls: ${spans.length} refresh requests reached authstore`);
      assert.ok(spans.length >= 3 && spans.length <= 6, `refresh requests: ${spans.length}`);
      for (let i = 1; i < spans.length; i++) {
        assert.ok(spans[i].start >= spans[i - 1].end, `refresh requests overlapped: ${JSON.stringify(spans)}`);
      }

      // Tab a rotates twice; tab b, which did nothing, gets the newest
      // token and can rotate it without presenting a superseded one.
      await run(a, () => window.client.refresh());
      const last = await run(a, () => window.client.refresh());
      await waitRefreshToken(b, last.value.refreshToken);
      const rb = await run(b, () => window.client.refresh());
      assert.ok(rb.value, JSON.stringify(rb.error));
      await waitRefreshToken(a, rb.value.refreshToken);
      for (const page of [a, b]) {
        const res = await run(page, async (url) => (await window.client.fetch(url)).status, `${resource.url}/resource`);
        assert.equal(res.value, 200);
        const again = await run(page, () => window.client.refresh());
        assert.ok(again.value, JSON.stringify(again.error));
        assert.deepEqual(await page.evaluate(() => window.ended), []);
      }
      if (auth.features.logout) {
        await run(a, () => window.client.logout());
        await waitRefreshToken(b, null);
        assert.deepEqual(await b.evaluate(() => window.ended), ['logout']);
      }
      await a.close();
      await b.close();
    });
  }

  it('control: tabs that do not coordinate are logged out by the same sequence', async () => {
    const [a, b] = [await openPage(), await openPage()];
    await installClient(a, auth.url, { lockName: null, delayMs: 0 });
    const signup = await run(a, (u) => window.client.signup(u), newUser());
    // Give tab b the same session by hand, as a shared storage without
    // messages would.
    await b.evaluate(({ baseUrl, t }) => {
      window.ended = [];
      window.client = window.authstore.createClient({
        baseUrl, lockName: null, storage: window.authstore.memoryStorage(t), onSessionEnd: (r) => window.ended.push(r),
      });
    }, { baseUrl: auth.url, t: signup.value });
    await run(a, () => window.client.refresh());
    await run(a, () => window.client.refresh());
    const rb = await run(b, () => window.client.refresh());
    assert.equal(rb.error?.status, 401, 'presenting a token two rotations old must revoke the session');
    const ra = await run(a, () => window.client.refresh());
    assert.equal(ra.error?.status, 401);
    assert.deepEqual(await a.evaluate(() => window.ended), ['rejected']);
    await a.close();
    await b.close();
  });
});

// The front end of the password reset flow, as an app would have it: /
// asks for a reset link, /reset?token=... (the page the mailed link opens,
// authstore's --reset-url) sets the new password, signs in with it and
// shows who is signed in. Both use the client bundle from /dist/, against
// authUrl on another origin.
const frontEndPage = (authUrl, body) => `<!doctype html>
<meta charset="utf-8">
<title>authstore reset test</title>
${body}
<p id="status"></p>
<script type="module">
import * as authstore from '/dist/index.js';
const { createClient, localStorageStorage } = authstore;
window.authstore = authstore;
const client = createClient({ baseUrl: ${JSON.stringify(authUrl)}, storage: localStorageStorage() });
const status = (s) => { document.getElementById('status').textContent = s; };
document.querySelector('form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    if (f.has('email')) {
      await client.forgotPassword({ email: f.get('email') });
      status('sent');
    } else {
      const token = new URL(location.href).searchParams.get('token');
      await client.resetPassword(token, f.get('password'));
      history.replaceState(null, '', '/reset');
      const me = await client.me();
      status('signed in as ' + me.login);
    }
  } catch (e) {
    status('error ' + e.status + ' ' + e.message);
  }
});
window.authstoreClient = client;
window.ready = true;
</script>
`;

async function startFrontEnd() {
  let authUrl = '';
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const html = (body) => res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(frontEndPage(authUrl, body));
    if (path === '/') {
      return html('<form><input name="email" type="email"><button>Send me a reset link</button></form>');
    }
    if (path === '/reset') {
      return html('<form><input name="password" type="password"><button>Set the new password</button></form>');
    }
    const m = /^\/dist\/([\w.-]+\.js)$/.exec(path);
    if (m) {
      try {
        const js = await readFile(join(distDir, m[1]));
        res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(js);
        return;
      } catch {
        // fall through to 404
      }
    }
    res.writeHead(404).end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    setAuthUrl: (u) => {
      authUrl = u;
    },
    stop: () => new Promise((r) => server.close(r)),
  };
}

describe('headless Chromium, password reset through a front end on another origin', () => {
  let auth, site, context, userDataDir;

  before(async () => {
    site = await startFrontEnd();
    auth = await startAuthstore([...mailLogArgs, '--reset-url', `${site.url}/reset?token={token}`]);
    site.setAuthUrl(auth.url);
    userDataDir = await mkdtemp(join(tmpdir(), 'authstore-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
    });
  });
  after(async () => {
    await context?.close();
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
    await site?.stop();
    await auth?.stop();
  });

  it('forgotPassword on the front end, the mailed link opens its reset page, resetPassword and me() succeed there', async () => {
    const user = newUser();
    await createClient({ baseUrl: auth.url }).signup(user);
    const page = await context.newPage();
    await page.goto(`${site.url}/`);
    await page.waitForFunction(() => window.ready === true);
    assert.notEqual(new URL(page.url()).origin, new URL(auth.url).origin);
    await page.fill('input[name=email]', user.email);
    await page.click('button');
    await page.waitForFunction(() => document.getElementById('status').textContent !== '');
    assert.equal(await page.textContent('#status'), 'sent');

    // The user opens the link of the mail.
    const mail = await waitMail(auth, user.email, 'Reset your password');
    assert.ok(mail.link.startsWith(`${site.url}/reset?token=`), mail.link);
    await page.goto(mail.link);
    await page.waitForFunction(() => window.ready === true);
    const newPassword = `${user.password}-from-the-page`;
    await page.fill('input[name=password]', newPassword);
    await page.click('button');
    await page.waitForFunction(() => document.getElementById('status').textContent !== '');
    assert.equal(await page.textContent('#status'), `signed in as ${user.login}`);
    assert.equal(new URL(page.url()).search, '', 'the page takes the token out of the address bar');
    const stored = await page.evaluate(() => window.authstoreClient.tokens());
    assert.ok(stored?.refreshToken);

    // The old password is refused, the new one works; the link is used up.
    const check = await run(page, async ([u, p1, p2, token]) => {
      const c = window.authstore.createClient({ baseUrl: u, lockName: null });
      const old = await c.signin(p1.login, p1.password).then(() => 'accepted', (e) => `${e.status} ${e.message}`);
      const again = await c.resetPassword(token, p2).then(() => 'accepted', (e) => `${e.status} ${e.message}`);
      await c.signin(p1.login, p2);
      return { old, again };
    }, [auth.url, user, newPassword, mail.token]);
    assert.deepEqual(check, { value: { old: '400 The login or password is incorrect', again: '400 Invalid or expired link' } });
    await page.close();
  });
});
