// The client's parts that need no server: a scripted fetch stands in for it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthError, createClient, errorFromResponse, jwtExpiry, localStorageStorage, memoryStorage, parseRetryAfter } from '../dist/index.js';

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const jwt = (payload) => `${b64({ alg: 'EdDSA', typ: 'at+jwt' })}.${b64(payload)}.c2ln`;
const json = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

// scripted returns a fetch answering each request with the next handler's
// response; calls records [method, path, body text].
function scripted(...handlers) {
  const calls = [];
  const f = async (input, init) => {
    const req = new Request(input, init);
    calls.push([req.method, new URL(req.url).pathname, await req.text()]);
    const h = handlers.shift();
    if (!h) throw new Error(`unexpected request ${req.method} ${req.url}`);
    return h(req);
  };
  f.calls = calls;
  return f;
}

describe('jwtExpiry', () => {
  const cases = [
    ['a JWT with exp', jwt({ exp: 1700000000, sub: 'ü' }), 1700000000],
    ['a JWT without exp', jwt({ sub: 'x' }), null],
    ['a string exp', jwt({ exp: '1700000000' }), null],
    ['an opaque token', 'abcdef', null],
    ['a bad payload', 'a.!!!.c', null],
    ['a payload that is not an object', `a.${b64(5)}.c`, null],
  ];
  for (const [name, token, want] of cases) {
    it(name, () => assert.equal(jwtExpiry(token), want));
  }
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-27T22:00:00Z');
  const cases = [
    ['absent', null, undefined],
    ['seconds', '120', 120],
    ['an HTTP date', 'Fri, 27 Nov 2026 22:00:30 GMT', 30],
    ['a past date', 'Fri, 27 Nov 2026 21:00:00 GMT', 0],
    ['garbage', 'soon', undefined],
  ];
  for (const [name, value, want] of cases) {
    it(name, () => assert.equal(parseRetryAfter(value, now), want));
  }
});

describe('errorFromResponse', () => {
  it('keeps a message list and joins it into Error.message', async () => {
    const err = await errorFromResponse(json(400, { statusCode: 400, message: ['a', 'b'], path: '/auth/signup' }));
    assert.ok(err instanceof AuthError && err instanceof Error);
    assert.equal(err.name, 'AuthError');
    assert.equal(err.status, 400);
    assert.deepEqual(err.serverMessage, ['a', 'b']);
    assert.deepEqual(err.messages, ['a', 'b']);
    assert.equal(err.message, 'a; b');
    assert.equal(err.retryAfter, undefined);
  });

  it('reads Retry-After of a 429', async () => {
    const err = await errorFromResponse(
      json(429, { statusCode: 429, message: 'Too many requests, please try again later.' }, { 'Retry-After': '7' }),
    );
    assert.equal(err.status, 429);
    assert.equal(err.serverMessage, 'Too many requests, please try again later.');
    assert.equal(err.retryAfter, 7);
  });

  it('falls back to the status for a body not in the error shape', async () => {
    const err = await errorFromResponse(new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    assert.equal(err.status, 502);
    assert.equal(err.message, 'Bad Gateway');
    assert.equal(err.body, null);
  });
});

describe('storage', () => {
  it('memoryStorage hands out copies', () => {
    const s = memoryStorage();
    assert.equal(s.get(), null);
    const t = { accessToken: 'a', refreshToken: 'r' };
    s.set(t);
    t.accessToken = 'changed';
    assert.deepEqual(s.get(), { accessToken: 'a', refreshToken: 'r' });
    s.clear();
    assert.equal(s.get(), null);
  });

  it('localStorageStorage stores JSON under its key and reads garbage as signed out', () => {
    const map = new Map();
    const fake = { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => map.set(k, v), removeItem: (k) => map.delete(k) };
    const s = localStorageStorage('k', fake);
    assert.equal(s.get(), null);
    s.set({ accessToken: 'a', refreshToken: 'r' });
    assert.deepEqual(JSON.parse(map.get('k')), { accessToken: 'a', refreshToken: 'r' });
    assert.deepEqual(s.get(), { accessToken: 'a', refreshToken: 'r' });
    for (const bad of ['{', '{"accessToken":"a"}', 'null', '{"accessToken":"","refreshToken":"r"}']) {
      map.set('k', bad);
      assert.equal(s.get(), null, bad);
    }
    s.clear();
    assert.equal(map.has('k'), false);
  });
});

describe('client with a scripted server', () => {
  const tokens = (n) => ({ access_token: jwt({ exp: 4102444800, n }), refresh_token: `r${n}` });

  it('joins baseUrl with a path prefix and sends the refresh token in the body', async () => {
    const f = scripted(() => json(200, tokens(1)), () => json(200, tokens(2)));
    const client = createClient({ baseUrl: 'https://auth.example/api/', fetch: f });
    await client.signin('ada', 'password1');
    await client.refresh();
    assert.deepEqual(f.calls, [
      ['POST', '/api/auth/signin', '{"login":"ada","password":"password1"}'],
      ['POST', '/api/auth/refresh', '{"refresh_token":"r1"}'],
    ]);
  });

  it('keeps the tokens when a refresh fails with 503 and exposes retryAfter', async () => {
    const f = scripted(() => json(503, { statusCode: 503, message: 'Service busy, please retry' }, { 'Retry-After': '2' }));
    const storage = memoryStorage({ accessToken: tokens(1).access_token, refreshToken: 'r1' });
    const ended = [];
    const client = createClient({ baseUrl: 'https://auth.example', fetch: f, storage, onSessionEnd: (r) => ended.push(r) });
    const err = await client.refresh().catch((e) => e);
    assert.ok(err instanceof AuthError);
    assert.equal(err.status, 503);
    assert.equal(err.retryAfter, 2);
    assert.equal(storage.get().refreshToken, 'r1');
    assert.deepEqual(ended, []);
  });

  it('keeps the tokens when the network fails during a refresh', async () => {
    const f = scripted(() => {
      throw new TypeError('fetch failed');
    });
    const storage = memoryStorage({ accessToken: tokens(1).access_token, refreshToken: 'r1' });
    const client = createClient({ baseUrl: 'https://auth.example', fetch: f, storage });
    await assert.rejects(client.refresh(), TypeError);
    assert.equal(storage.get().refreshToken, 'r1');
  });

  it('rejects a token response without tokens', async () => {
    const f = scripted(() => json(200, { access_token: 'a' }));
    const client = createClient({ baseUrl: 'https://auth.example', fetch: f });
    const err = await client.signin('ada', 'password1').catch((e) => e);
    assert.ok(err instanceof AuthError);
    assert.equal(err.message, 'Malformed token response');
    assert.equal(await client.tokens(), null);
  });

  it('uses a still-valid token when the early refresh fails for now', async () => {
    const t = { accessToken: jwt({ exp: 2000 }), refreshToken: 'r1' };
    const f = scripted(
      () => json(503, { statusCode: 503, message: 'Service busy, please retry' }),
      (req) => new Response(req.headers.get('Authorization'), { status: 200 }),
    );
    const client = createClient({ baseUrl: 'https://auth.example', fetch: f, storage: memoryStorage(t), now: () => 1990_000 });
    const res = await client.fetch('/resource');
    assert.equal(await res.text(), `Bearer ${t.accessToken}`);
  });

  it('the wrapper rejects with the AuthError of a needed refresh that failed, keeping the tokens', async () => {
    const busy = () => json(429, { statusCode: 429, message: 'Too many requests, please try again later.' }, { 'Retry-After': '3' });
    const expired = { accessToken: jwt({ exp: 1000 }), refreshToken: 'r1' };
    const cases = [
      ['expired token', expired, [busy]],
      ['401 from the resource', { accessToken: tokens(1).access_token, refreshToken: 'r1' }, [() => json(401, { statusCode: 401, message: 'Token expired' }), busy]],
    ];
    for (const [name, t, handlers] of cases) {
      const storage = memoryStorage(t);
      const client = createClient({ baseUrl: 'https://auth.example', fetch: scripted(...handlers), storage, now: () => 2000_000 });
      const err = await client.fetch('/resource').catch((e) => e);
      assert.ok(err instanceof AuthError, `${name}: ${err}`);
      assert.equal(err.status, 429, name);
      assert.equal(err.retryAfter, 3, name);
      assert.deepEqual(storage.get(), t, name);
    }
  });

  it('logout clears the tokens even when the server cannot be reached, and rejects', async () => {
    const f = scripted(() => {
      throw new TypeError('fetch failed');
    });
    const storage = memoryStorage({ accessToken: tokens(1).access_token, refreshToken: 'r1' });
    const client = createClient({ baseUrl: 'https://auth.example', fetch: f, storage });
    await assert.rejects(client.logout(), TypeError);
    assert.equal(storage.get(), null);
  });

  it('accepts an async storage', async () => {
    let held = null;
    const storage = { get: async () => held, set: async (t) => void (held = t), clear: async () => void (held = null) };
    const f = scripted(() => json(200, tokens(1)), () => json(200, tokens(2)));
    const client = createClient({ baseUrl: 'https://auth.example', fetch: f, storage });
    await client.signin('ada', 'password1');
    assert.equal((await client.refresh()).refreshToken, 'r2');
    assert.equal(held.refreshToken, 'r2');
  });
});
