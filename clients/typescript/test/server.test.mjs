// The client against a real `authstore serve`, built from this repository.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthError, createClient, memoryStorage } from '../dist/index.js';
import { claims, newUser, sleep, spyFetch, startAuthstore, startResourceServer, tamper } from './helpers.mjs';

const HOUR = 3600_000;

describe('authstore client against authstore serve', () => {
  let auth;
  let resource;

  before(async () => {
    auth = await startAuthstore();
    resource = await startResourceServer(auth.url);
  });
  after(async () => {
    await resource?.stop();
    await auth?.stop();
  });

  // signedIn signs a new user up and returns a client holding its tokens.
  const signedIn = async (opts = {}) => {
    const spy = spyFetch();
    const client = createClient({ baseUrl: auth.url, fetch: spy, ...opts });
    const user = newUser();
    await client.signup(user);
    spy.calls.length = 0;
    return { client, spy, user };
  };

  describe('signup and signin', () => {
    it('signup stores and returns an access JWT and a refresh token', async () => {
      const client = createClient({ baseUrl: auth.url });
      const t = await client.signup(newUser());
      assert.equal(typeof t.refreshToken, 'string');
      const c = claims(t.accessToken);
      assert.equal(typeof c.sub, 'string');
      assert.ok(c.exp > Date.now() / 1000);
      assert.deepEqual(await client.tokens(), t);
    });

    it('signin returns a new session for the same user', async () => {
      const { client: first, user } = await signedIn();
      const a = await first.tokens();
      const client = createClient({ baseUrl: auth.url });
      const b = await client.signin(user.login.toUpperCase(), user.password);
      assert.notEqual(b.refreshToken, a.refreshToken);
      assert.equal(claims(b.accessToken).sub, claims(a.accessToken).sub);
      assert.deepEqual(await client.tokens(), b);
    });

    it('signup with invalid fields rejects with a 400 AuthError carrying the message list', async () => {
      const client = createClient({ baseUrl: auth.url });
      const err = await client.signup({ ...newUser(), email: 'not-an-email', firstName: '' }).catch((e) => e);
      assert.ok(err instanceof AuthError, String(err));
      assert.ok(err instanceof Error);
      assert.equal(err.status, 400);
      assert.ok(Array.isArray(err.serverMessage));
      assert.ok(err.serverMessage.includes('email must be an email'), err.serverMessage.join());
      assert.ok(err.serverMessage.includes('firstName should not be empty'), err.serverMessage.join());
      assert.equal(err.message, err.serverMessage.join('; '));
      assert.equal(err.body.statusCode, 400);
      assert.equal(err.body.path, '/auth/signup');
      assert.equal(await client.tokens(), null);
    });

    it('signup of a taken login rejects with the message as a string', async () => {
      const { user } = await signedIn();
      const client = createClient({ baseUrl: auth.url });
      const err = await client.signup({ ...newUser(), login: user.login }).catch((e) => e);
      assert.ok(err instanceof AuthError, String(err));
      assert.equal(err.status, 400);
      assert.equal(err.serverMessage, 'Login already used');
      assert.deepEqual(err.messages, ['Login already used']);
    });

    it('signin with a wrong password rejects with 400', async () => {
      const { user } = await signedIn();
      const client = createClient({ baseUrl: auth.url });
      const err = await client.signin(user.login, 'wrong-password!').catch((e) => e);
      assert.ok(err instanceof AuthError, String(err));
      assert.equal(err.status, 400);
      assert.equal(err.serverMessage, 'The login or password is incorrect');
      assert.equal(await client.tokens(), null);
    });
  });

  describe('refresh', () => {
    it('rotates the refresh token on every call, keeping the user', async () => {
      const { client, spy } = await signedIn();
      const seen = [(await client.tokens()).refreshToken];
      for (let i = 0; i < 3; i++) {
        const t = await client.refresh();
        assert.ok(!seen.includes(t.refreshToken), 'refresh token reused');
        seen.push(t.refreshToken);
        assert.deepEqual(await client.tokens(), t);
      }
      assert.equal(spy.count('/auth/refresh'), 3);
      const sent = spy.calls.filter((c) => c.url.pathname === '/auth/refresh');
      assert.ok(sent.every((c) => !c.url.search.includes('rt=')), 'refresh token sent in the URL');
    });

    it('ends the session when the server refuses the refresh token', async () => {
      const ended = [];
      const { client } = await signedIn({ onSessionEnd: (r) => ended.push(r) });
      const first = (await client.tokens()).refreshToken;
      await client.refresh();
      await client.refresh();
      // Replaying a token two rotations old is reuse: the server revokes the session.
      const replay = await fetch(`${auth.url}/auth/refresh?rt=${encodeURIComponent(first)}`, { method: 'POST' });
      assert.equal(replay.status, 401);
      const err = await client.refresh().catch((e) => e);
      assert.ok(err instanceof AuthError, String(err));
      assert.equal(err.status, 401);
      assert.equal(err.serverMessage, 'Invalid token');
      assert.equal(await client.tokens(), null);
      assert.deepEqual(ended, ['rejected']);
    });

    it('maps a garbage refresh token to 401 Invalid token', async () => {
      const storage = memoryStorage({ accessToken: 'x.y.z', refreshToken: 'garbage' });
      const client = createClient({ baseUrl: auth.url, storage });
      const err = await client.refresh().catch((e) => e);
      assert.ok(err instanceof AuthError, String(err));
      assert.equal(err.status, 401);
      assert.equal(err.serverMessage, 'Invalid token');
      assert.equal(await storage.get(), null);
    });

    it('refuses to refresh when signed out, without a request', async () => {
      const spy = spyFetch();
      const client = createClient({ baseUrl: auth.url, fetch: spy });
      const err = await client.refresh().catch((e) => e);
      assert.ok(err instanceof AuthError, String(err));
      assert.equal(err.status, 401);
      assert.equal(spy.calls.length, 0);
    });

    it('shares one request among 10 concurrent refresh() calls', async () => {
      const { client, spy } = await signedIn();
      const all = await Promise.all(Array.from({ length: 10 }, () => client.refresh()));
      assert.equal(spy.count('/auth/refresh'), 1);
      assert.ok(all.every((t) => t.refreshToken === all[0].refreshToken));
    });

    it('two uncoordinated clients refreshing one session at once both keep it (grace window)', async () => {
      const { client: a } = await signedIn({ lockName: null });
      const b = createClient({ baseUrl: auth.url, storage: memoryStorage(await a.tokens()), lockName: null });
      const [ta, tb] = await Promise.all([a.refresh(), b.refresh()]);
      assert.equal(ta.refreshToken, tb.refreshToken);
      const next = await b.refresh();
      assert.notEqual(next.refreshToken, ta.refreshToken);
    });

    it('clients sharing a lockName pass signins and rotations over BroadcastChannel', async () => {
      const lockName = `test-${Math.random()}`;
      const a = createClient({ baseUrl: auth.url, lockName });
      const b = createClient({ baseUrl: auth.url, lockName });
      try {
        const t = await a.signup(newUser());
        await waitFor(async () => (await b.tokens())?.refreshToken === t.refreshToken);
        const [ta, tb] = await Promise.all([a.refresh(), b.refresh()]);
        assert.equal(ta.refreshToken, tb.refreshToken);
        const t2 = await a.refresh();
        await waitFor(async () => (await b.tokens())?.refreshToken === t2.refreshToken);
        // b now holds a's newest pair and can rotate it: nobody was logged out.
        const t3 = await b.refresh();
        await waitFor(async () => (await a.tokens())?.refreshToken === t3.refreshToken);
      } finally {
        a.close();
        b.close();
      }
    });
  });

  describe('fetch wrapper', () => {
    it('attaches the bearer token and resolves relative URLs against baseUrl', async () => {
      const { client, spy } = await signedIn();
      const res = await client.fetch(`${resource.url}/resource`);
      assert.equal(res.status, 200);
      const t = await client.tokens();
      assert.equal((await res.json()).sub, claims(t.accessToken).sub);
      assert.equal(spy.calls.at(-1).authorization, `Bearer ${t.accessToken}`);
      assert.equal(spy.count('/auth/refresh'), 0);
      await client.fetch('/healthz');
      assert.equal(spy.calls.at(-1).url.href, `${auth.url}/healthz`);
    });

    it('refreshes before a request when the token is about to expire', async () => {
      let skew = 0;
      const { client, spy } = await signedIn({ now: () => Date.now() + skew });
      const before = await client.tokens();
      skew = (claims(before.accessToken).exp * 1000 - Date.now()) - 10_000; // 10 s before exp
      const res = await client.fetch(`${resource.url}/resource`);
      assert.equal(res.status, 200);
      const after = await client.tokens();
      assert.notEqual(after.refreshToken, before.refreshToken);
      assert.deepEqual(spy.calls.map((c) => c.url.pathname), ['/auth/refresh', '/resource']);
      assert.equal(spy.calls[1].authorization, `Bearer ${after.accessToken}`);
    });

    it('after a 401 refreshes once and retries once, replaying the body', async () => {
      const { client, spy } = await signedIn();
      const good = await client.tokens();
      const storage = memoryStorage({ ...good, accessToken: tamper(good.accessToken) });
      const c2 = createClient({ baseUrl: auth.url, fetch: spy, storage });
      const res = await c2.fetch(`${resource.url}/resource`, { method: 'POST', body: 'payload', headers: { 'Content-Type': 'text/plain' } });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { sub: claims(good.accessToken).sub, method: 'POST', body: 'payload' });
      assert.deepEqual(spy.calls.map((c) => c.url.pathname), ['/resource', '/auth/refresh', '/resource']);
    });

    it('returns the second 401 instead of looping', async () => {
      const { client, spy } = await signedIn();
      const res = await client.fetch(`${resource.url}/always401`);
      assert.equal(res.status, 401);
      assert.deepEqual(spy.calls.map((c) => c.url.pathname), ['/always401', '/auth/refresh', '/always401']);
      assert.notEqual(await client.tokens(), null, 'a 401 from a resource must not log the user out');
    });

    it('10 concurrent requests with an expired token cause exactly one refresh', async () => {
      let skew = 0;
      const { client, spy } = await signedIn({ now: () => Date.now() + skew });
      skew = 2 * HOUR;
      const results = await Promise.all(Array.from({ length: 10 }, () => client.fetch(`${resource.url}/resource`)));
      assert.deepEqual(results.map((r) => r.status), Array(10).fill(200));
      assert.equal(spy.count('/auth/refresh'), 1);
      const bearers = new Set(spy.calls.filter((c) => c.url.pathname === '/resource').map((c) => c.authorization));
      assert.equal(bearers.size, 1);
    });

    it('10 concurrent requests answered 401 cause exactly one refresh', async () => {
      const { client } = await signedIn();
      const good = await client.tokens();
      const spy = spyFetch();
      const c2 = createClient({ baseUrl: auth.url, fetch: spy, storage: memoryStorage({ ...good, accessToken: tamper(good.accessToken) }) });
      const results = await Promise.all(Array.from({ length: 10 }, () => c2.fetch(`${resource.url}/resource`)));
      assert.deepEqual(results.map((r) => r.status), Array(10).fill(200));
      assert.equal(spy.count('/auth/refresh'), 1);
      assert.equal(spy.count('/resource'), 20);
    });

    it('sends no token once the session has ended', async () => {
      const storage = memoryStorage({ accessToken: tamper((await (await signedIn()).client.tokens()).accessToken), refreshToken: 'revoked' });
      const spy = spyFetch();
      const client = createClient({ baseUrl: auth.url, fetch: spy, storage });
      const res = await client.fetch(`${resource.url}/resource`);
      assert.equal(res.status, 401);
      assert.equal(await client.tokens(), null);
      const again = await client.fetch(`${resource.url}/resource`);
      assert.equal(again.status, 401);
      assert.equal(spy.calls.at(-1).authorization, null);
    });
  });

  describe('me and logout', () => {
    it('me returns the signed-in user, refreshing after a 401', async (t) => {
      if (!auth.features.me) return t.skip('this authstore build has no GET /auth/me yet');
      const { client, spy, user } = await signedIn();
      const me = await client.me();
      const { password: _, ...profile } = user;
      assert.deepEqual(me, { uuid: claims((await client.tokens()).accessToken).sub, ...profile, emailVerified: false });
      const good = await client.tokens();
      const c2 = createClient({ baseUrl: auth.url, fetch: spy, storage: memoryStorage({ ...good, accessToken: tamper(good.accessToken) }) });
      spy.calls.length = 0;
      assert.deepEqual(await c2.me(), me);
      assert.deepEqual(spy.calls.map((c) => c.url.pathname), ['/auth/me', '/auth/refresh', '/auth/me']);
    });

    it('me when signed out rejects with 401 and the empty-bearer message', async (t) => {
      if (!auth.features.me) return t.skip('this authstore build has no GET /auth/me yet');
      const client = createClient({ baseUrl: auth.url });
      const err = await client.me().catch((e) => e);
      assert.ok(err instanceof AuthError, String(err));
      assert.equal(err.status, 401);
      assert.equal(err.serverMessage, 'Unauthorised user (empty bearer token)');
    });

    it('logout revokes the session on the server and clears the tokens', async (t) => {
      if (!auth.features.logout) return t.skip('this authstore build has no POST /auth/logout yet');
      const ended = [];
      const { client, spy } = await signedIn({ onSessionEnd: (r) => ended.push(r) });
      const tokens = await client.tokens();
      await client.logout();
      assert.equal(await client.tokens(), null);
      assert.deepEqual(ended, ['logout']);
      assert.equal(spy.count('/auth/logout'), 1);
      assert.ok(!spy.calls.at(-1).url.search.includes('rt='), 'refresh token sent in the URL');
      const replay = await fetch(`${auth.url}/auth/refresh`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: tokens.refreshToken }),
      });
      assert.equal(replay.status, 401);
      if (auth.features.me) {
        const me = await fetch(`${auth.url}/auth/me`, { headers: { Authorization: `Bearer ${tokens.accessToken}` } });
        assert.equal(me.status, 401, 'access token of a revoked session accepted by /auth/me');
      }
      await client.logout(); // signed out: resolves without a request
      assert.equal(spy.count('/auth/logout'), 1);
    });

    it('logout of an already revoked session still succeeds', async (t) => {
      if (!auth.features.logout) return t.skip('this authstore build has no POST /auth/logout yet');
      const { client } = await signedIn();
      const copy = createClient({ baseUrl: auth.url, storage: memoryStorage(await client.tokens()) });
      await copy.logout();
      await client.logout();
      assert.equal(await client.tokens(), null);
    });
  });
});

describe('authstore client with short-lived access tokens (--access-ttl 6s)', () => {
  let auth;
  let resource;
  before(async () => {
    auth = await startAuthstore(['--access-ttl', '6s']); // room for a slow signup before the 2 s skew
    resource = await startResourceServer(auth.url);
  });
  after(async () => {
    await resource?.stop();
    await auth?.stop();
  });

  it('refreshes before expiry on the real clock', async () => {
    const spy = spyFetch();
    const client = createClient({ baseUrl: auth.url, fetch: spy, refreshSkewSeconds: 2 });
    const first = await client.signup(newUser());
    assert.equal((await client.fetch(`${resource.url}/resource`)).status, 200);
    assert.equal(spy.count('/auth/refresh'), 0);
    await sleep(claims(first.accessToken).exp * 1000 - 2000 - Date.now() + 100); // inside the skew
    assert.equal((await client.fetch(`${resource.url}/resource`)).status, 200);
    assert.equal(spy.count('/auth/refresh'), 1);
    assert.notEqual((await client.tokens()).accessToken, first.accessToken);
  });

  it('after a real expiry the resource answers 401 and the wrapper refreshes and retries', async () => {
    const spy = spyFetch();
    // A client whose clock is an hour slow never refreshes early.
    const client = createClient({ baseUrl: auth.url, fetch: spy, now: () => Date.now() - HOUR });
    const first = await client.signup(newUser());
    await sleep(claims(first.accessToken).exp * 1000 - Date.now() + 100);
    spy.calls.length = 0;
    const res = await client.fetch(`${resource.url}/resource`);
    assert.equal(res.status, 200);
    assert.deepEqual(spy.calls.map((c) => c.url.pathname), ['/resource', '/auth/refresh', '/resource']);
  });
});

async function waitFor(cond, what = 'condition') {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting for ${what}`);
}
