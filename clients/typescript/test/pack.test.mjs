// The package as its users get it: `npm pack` makes the tarball, a fresh
// project (its own package.json, in a temporary directory) installs it
// offline, imports it by name in Node and in TypeScript, and signs a user up
// against a real authstore with it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { newUser, startAuthstore } from './helpers.mjs';

const run = promisify(execFile);
const pkgDir = fileURLToPath(new URL('../', import.meta.url));
const tsc = join(pkgDir, 'node_modules', 'typescript', 'bin', 'tsc');

describe('npm pack, installed in a fresh project', () => {
  let auth, dir;

  before(async () => {
    auth = await startAuthstore();
    dir = await mkdtemp(join(tmpdir(), 'authstore-pack-'));
  });
  after(async () => {
    await auth?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('installs offline, imports by name, types check, and signs up', async () => {
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: pkgDir });
    const tarball = join(dir, stdout.trim().split('\n').pop());
    const { stdout: listing } = await run('tar', ['tzf', tarball]);
    const files = listing.trim().split('\n').sort();
    assert.ok(files.includes('package/dist/index.js') && files.includes('package/dist/index.d.ts'), files.join(' '));
    assert.ok(files.includes('package/README.md'));
    assert.ok(!files.some((f) => f.startsWith('package/src/') || f.startsWith('package/test/')), files.join(' '));

    const app = join(dir, 'app');
    await run('mkdir', ['-p', app]);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // --offline: the package has no runtime dependency, so nothing but the
    // tarball is needed.
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: app });
    assert.ok((await readdir(join(app, 'node_modules', '@authstore'))).includes('client'));

    await writeFile(
      join(app, 'signup.mjs'),
      `import { createClient, AuthError } from '@authstore/client';
const auth = createClient({ baseUrl: process.env.AUTHSTORE_URL });
const tokens = await auth.signup(JSON.parse(process.env.USER_JSON));
const me = await auth.me();
console.log(JSON.stringify({ login: me.login, hasRefresh: typeof tokens.refreshToken === 'string', AuthError: typeof AuthError }));
`,
    );
    const user = newUser();
    const { stdout: out } = await run('node', ['signup.mjs'], {
      cwd: app,
      env: { ...process.env, AUTHSTORE_URL: auth.url, USER_JSON: JSON.stringify(user) },
    });
    assert.deepEqual(JSON.parse(out), { login: user.login, hasRefresh: true, AuthError: 'function' });

    // The declarations resolve by package name under the strictest module
    // resolution a TypeScript project is likely to use.
    await writeFile(
      join(app, 'check.ts'),
      `import { createClient, SecondFactorRequired, type AuthClient, type SecondFactorMethod, type Tokens, type TotpEnrollment } from '@authstore/client';
const c: AuthClient = createClient({ baseUrl: 'https://auth.example.com' });
const t: Promise<Tokens> = c.signin('ada', 'pw').catch((e: unknown) => {
  if (!(e instanceof SecondFactorRequired)) throw e;
  const methods: SecondFactorMethod[] = e.methods;
  void methods;
  return c.verifySecondFactor(e.mfaToken, '123456');
});
const enrollment: Promise<TotpEnrollment> = c.enrollTotp();
const codes: Promise<string[]> = c.confirmTotp('123456');
void t;
void enrollment;
void codes;
`,
    );
    await run('node', [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom', 'check.ts'], { cwd: app });
  });
});
