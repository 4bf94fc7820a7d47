// Test helpers: a real authstore server, a resource server that verifies
// authstore's access tokens against its JWKS, and a counting fetch.
import { spawn, execFile } from 'node:child_process';
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The repository root (clients/typescript/test/../../..). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

let built = null;

/**
 * Returns the path of an authstore binary: $AUTHSTORE_BIN if set, else one
 * built with `CGO_ENABLED=0 go build` into a temporary directory, once per
 * process.
 */
export function authstoreBinary() {
  if (process.env.AUTHSTORE_BIN) return Promise.resolve(process.env.AUTHSTORE_BIN);
  built ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'authstore-bin-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'authstore');
    await promisify(execFile)('go', ['build', '-o', out, './cmd/authstore'], {
      cwd: repoRoot,
      env: { ...process.env, CGO_ENABLED: '0' },
    });
    return out;
  })();
  return built;
}

/**
 * Starts `authstore serve` on a free loopback port with a fresh SQLite
 * database, waits for /readyz, and returns { url, stop, features }.
 * features tells which optional endpoints this build serves.
 */
export async function startAuthstore(extraArgs = []) {
  const dir = await mkdtemp(join(tmpdir(), 'authstore-ts-'));
  const bin = await authstoreBinary();
  const child = spawn(bin, ['serve', '--addr', '127.0.0.1:0', '--db', join(dir, 't.db'), '--log-level', 'warn', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // AUTHSTORE_* variables are flag defaults: the test's flags alone count,
    // and no shutdown drain (no load balancer to tell).
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AUTHSTORE_'))),
      AUTHSTORE_SHUTDOWN_DELAY: '0',
    },
  });
  let stderr = '';
  child.stderr.on('data', (b) => {
    stderr += b;
  });
  const exited = new Promise((res) => child.once('exit', res));
  const url = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error(`authstore did not start: ${stderr}`)), 20_000);
    lines.on('line', (line) => {
      const m = /^authstore listening on (http:\/\/\S+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`authstore exited with ${code}: ${stderr}`));
    });
  });
  for (let i = 0; ; i++) {
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i >= 100) throw new Error('authstore never became ready');
    await sleep(100);
  }
  const features = {
    me: (await fetch(`${url}/auth/me`)).status !== 404,
    logout: (await fetch(`${url}/auth/logout`, { method: 'POST' })).status !== 404,
  };
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  return { url, stop, features, stderr: () => stderr };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A fresh, valid CreateUserDto. */
export function newUser() {
  const id = randomBytes(6).toString('hex');
  return {
    firstName: 'Ada',
    lastName: 'Lovelace',
    login: `ts${id}`,
    email: `ts${id}@example.com`,
    password: `pw-${id}-long-enough`,
  };
}

/**
 * A fetch that records every request (method, URL, Authorization) and
 * passes it on to the real fetch. count(path) counts requests to a path.
 */
export function spyFetch() {
  const calls = [];
  const f = async (input, init) => {
    const req = new Request(input, init);
    calls.push({ method: req.method, url: new URL(req.url), authorization: req.headers.get('Authorization') });
    return fetch(req);
  };
  f.calls = calls;
  f.count = (path) => calls.filter((c) => c.url.pathname === path).length;
  return f;
}

function b64url(s) {
  return Buffer.from(s, 'base64url');
}

/** Returns the token with its signature altered, so that servers refuse it. */
export function tamper(jwt) {
  const [h, p, s] = jwt.split('.');
  return `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
}

/** The decoded payload of a JWT, unverified. */
export function claims(jwt) {
  return JSON.parse(b64url(jwt.split('.')[1]).toString('utf8'));
}

/**
 * Starts an HTTP server standing for a resource server of the store: it
 * verifies bearer tokens against authstore's JWKS (signature, typ, exp,
 * with no leeway) and answers 401 in the error shape when they fail.
 * GET/POST /resource echoes { sub, method, body }; /always401 always
 * answers 401. It allows any origin (CORS), for the browser test.
 * hits lists { path, authorization } of every non-preflight request.
 */
export async function startResourceServer(authUrl) {
  const keys = new Map();
  const loadKeys = async () => {
    const jwks = await (await fetch(`${authUrl}/.well-known/jwks.json`)).json();
    for (const k of jwks.keys) keys.set(k.kid, k);
  };
  await loadKeys();
  const hits = [];

  const check = async (authorization) => {
    const m = /^Bearer (\S+)$/.exec(authorization ?? '');
    if (!m) return { error: 'Unauthorised user (empty bearer token)' };
    const parts = m[1].split('.');
    if (parts.length !== 3) return { error: 'Invalid token' };
    let header, payload;
    try {
      header = JSON.parse(b64url(parts[0]).toString('utf8'));
      payload = JSON.parse(b64url(parts[1]).toString('utf8'));
    } catch {
      return { error: 'Invalid token' };
    }
    if (!keys.has(header.kid)) await loadKeys();
    const jwk = keys.get(header.kid);
    if (!jwk || header.typ !== 'at+jwt') return { error: 'Invalid token' };
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    const data = Buffer.from(`${parts[0]}.${parts[1]}`);
    const sig = b64url(parts[2]);
    const ok =
      header.alg === 'EdDSA' ? verify(null, data, key, sig)
      : header.alg === 'ES256' ? verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig)
      : header.alg === 'RS256' ? verify('sha256', data, key, sig)
      : false;
    if (!ok) return { error: 'Invalid token' };
    if (typeof payload.exp !== 'number' || payload.exp * 1000 <= Date.now()) return { error: 'Token expired' };
    return { claims: payload };
  };

  const server = createServer(async (req, res) => {
    const origin = req.headers.origin;
    if (origin) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST');
      res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? 'Authorization');
      res.writeHead(204).end();
      return;
    }
    const path = new URL(req.url, 'http://x').pathname;
    hits.push({ path, authorization: req.headers.authorization ?? null });
    let body = '';
    for await (const chunk of req) body += chunk;
    const send = (status, v) => {
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(v));
    };
    const unauthorized = (message) =>
      send(401, { statusCode: 401, message, timestamp: new Date().toISOString(), path });
    if (path === '/always401') return unauthorized('Invalid token');
    if (path !== '/resource') return send(404, { statusCode: 404, message: `Cannot ${req.method} ${path}`, path });
    const r = await check(req.headers.authorization);
    if (r.error) return unauthorized(r.error);
    send(200, { sub: r.claims.sub, method: req.method, body });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    hits,
    stop: () => new Promise((r) => server.close(r)),
  };
}

/**
 * Flags for startAuthstore that make the server write each mail (there is
 * no --smtp-url) to its stderr as one JSON log line, which waitMail reads.
 * Mail-sending routes are not limited per IP, as every test request comes
 * from 127.0.0.1 (each address is still limited to 3 mails an hour).
 */
export const mailLogArgs = ['--log-level', 'info', '--log-format', 'json', '--mail-rate-limit', '0'];

const takenMail = new WeakMap();

/**
 * Waits for a mail to address to in the log of auth (started with
 * mailLogArgs) whose subject matches subject (a RegExp or a string), not
 * returned before, and returns { id, to, subject, text, link, token }:
 * link is the first URL of the text with a token parameter, token that
 * parameter, decoded. Rejects after timeoutMs.
 */
export async function waitMail(auth, to, subject, timeoutMs = 10_000) {
  let taken = takenMail.get(auth);
  if (!taken) takenMail.set(auth, (taken = new Set()));
  const matches = (s) => (subject instanceof RegExp ? subject.test(s) : s === subject);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const line of auth.stderr().split('\n')) {
      if (!line.startsWith('{')) continue;
      let e;
      try {
        e = JSON.parse(line);
      } catch {
        continue; // a line still being written
      }
      if (typeof e.msg !== 'string' || !e.msg.startsWith('mail (not sent') || taken.has(e.id)) continue;
      if (e.to.toLowerCase() !== to.toLowerCase() || !matches(e.subject)) continue;
      taken.add(e.id);
      const link = /https?:\/\/\S+[?&]token=[^\s&]+/.exec(e.text)?.[0] ?? null;
      const token = link ? new URL(link).searchParams.get('token') : null;
      return { id: e.id, to: e.to, subject: e.subject, text: e.text, link, token };
    }
    if (Date.now() > deadline) throw new Error(`no mail to ${to} with subject ${subject} within ${timeoutMs} ms`);
    await sleep(50);
  }
}
