// Second factors against a real `authstore serve`: TOTP enrollment, the
// signin's SecondFactorRequired step completed with a TOTP or recovery code,
// recovery codes, and turning TOTP off. The TOTP codes are computed here,
// as an authenticator app would (RFC 6238: HMAC-SHA-1, 6 digits, 30 s).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AuthError, createClient, SecondFactorRequired } from '../dist/index.js';
import { claims, mailLogArgs, newUser, sleep, startAuthstore, waitMail } from './helpers.mjs';

const period = 30;

/** Decodes RFC 4648 base32 (padding and case ignored). */
function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of s.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The 6-digit TOTP code of key for time step step (RFC 6238 over RFC 4226). */
function hotp(key, step) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(msg).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const bin = mac.readUInt32BE(off) & 0x7fffffff;
  return String(bin % 1_000_000).padStart(6, '0');
}

/**
 * An authenticator app for secret that knows each code works once: next()
 * returns a code of a step after the last one used, within the server's
 * window of one step either side of now, waiting for the next step when
 * that window is used up. A code of the step before now is avoided in the
 * last seconds of a step, when it could leave the window on the way.
 */
function authenticator(secret) {
  const key = base32Decode(secret);
  let last = -1;
  return {
    key,
    async next() {
      for (;;) {
        const t = Date.now() / 1000;
        const cur = Math.floor(t / period);
        const late = t - cur * period > period - 3;
        const step = Math.max(last + 1, late ? cur : cur - 1);
        if (step <= cur + 1) {
          last = step;
          return hotp(key, step);
        }
        await sleep(((cur + 1) * period - t) * 1000 + 50);
      }
    },
    /** A 6-digit code that no step of the server's window gives. */
    wrong() {
      const cur = Math.floor(Date.now() / 1000 / period);
      const valid = new Set([-2, -1, 0, 1, 2].map((d) => hotp(key, cur + d)));
      for (let n = 0; ; n++) {
        const c = String(n).padStart(6, '0');
        if (!valid.has(c)) return c;
      }
    },
  };
}

// rejection returns what p rejects with, failing if it resolves.
const rejection = (p) =>
  p.then(
    (v) => assert.fail(`resolved with ${JSON.stringify(v)}`),
    (e) => e,
  );

describe('second factors against authstore serve', () => {
  let auth;

  before(async () => {
    auth = await startAuthstore([...mailLogArgs, '--reset-url', 'https://app.example/reset?token={token}']);
  });
  after(async () => {
    await auth?.stop();
  });

  it('test vectors: base32 and RFC 6238 SHA-1 codes', () => {
    // RFC 6238 appendix B, SHA-1, key "12345678901234567890", 8 digits
    // there: the last 6 digits are the 6-digit code.
    const key = base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    assert.equal(key.toString(), '12345678901234567890');
    assert.equal(hotp(key, Math.floor(59 / 30)), '287082');
    assert.equal(hotp(key, Math.floor(1111111109 / 30)), '081804');
    assert.equal(hotp(key, Math.floor(2000000000 / 30)), '279037');
  });

  it('enrolls TOTP; signin then needs a TOTP or recovery code; codes regenerate; disabling restores plain signin', async () => {
    const user = newUser();
    const client = createClient({ baseUrl: auth.url });
    await client.signup(user);

    const enrollment = await client.enrollTotp();
    assert.match(enrollment.secret, /^[A-Z2-7]+=*$/);
    assert.ok(enrollment.otpauthUrl.startsWith('otpauth://totp/'), enrollment.otpauthUrl);
    assert.equal(new URL(enrollment.otpauthUrl).searchParams.get('secret'), enrollment.secret);
    const app = authenticator(enrollment.secret);

    // Pending until confirmed: signin still answers tokens.
    const plain = createClient({ baseUrl: auth.url });
    assert.ok((await plain.signin(user.login, user.password)).accessToken);

    const recovery = await client.confirmTotp(await app.next());
    assert.equal(recovery.length, 10);
    assert.equal(new Set(recovery).size, 10);
    for (const c of recovery) assert.match(c, /^[0-9a-z]{5}-[0-9a-z]{5}$/);

    // Sign out and in: a second factor is required, and no tokens are stored.
    await client.logout();
    const challenge = await rejection(client.signin(user.login, user.password));
    assert.ok(challenge instanceof SecondFactorRequired, String(challenge));
    assert.ok(!(challenge instanceof AuthError));
    assert.equal(challenge.name, 'SecondFactorRequired');
    assert.ok(challenge.mfaToken);
    assert.ok(challenge.methods.includes('totp'), challenge.methods.join());
    assert.ok(challenge.methods.includes('recovery'), challenge.methods.join());
    assert.equal(await client.tokens(), null);

    // A wrong code: 400, and the mfa_token still works.
    const wrong = await rejection(client.verifySecondFactor(challenge.mfaToken, app.wrong()));
    assert.ok(wrong instanceof AuthError, String(wrong));
    assert.equal(wrong.status, 400);
    assert.equal(wrong.serverMessage, 'The code is incorrect');
    assert.equal(await client.tokens(), null);

    const tokens = await client.verifySecondFactor(challenge.mfaToken, await app.next());
    assert.deepEqual(await client.tokens(), tokens);
    assert.deepEqual(claims(tokens.accessToken).amr, ['pwd', 'otp']);
    assert.equal((await client.me()).login, user.login);

    // The mfa_token was single-use.
    const reused = await rejection(client.verifySecondFactor(challenge.mfaToken, recovery[0]));
    assert.ok(reused instanceof AuthError, String(reused));
    assert.equal(reused.status, 401);

    // A recovery code works once.
    const other = createClient({ baseUrl: auth.url });
    const c1 = await rejection(other.signin(user.login, user.password));
    assert.ok(c1 instanceof SecondFactorRequired, String(c1));
    const byRecovery = await other.verifySecondFactor(c1.mfaToken, recovery[0]);
    assert.deepEqual(claims(byRecovery.accessToken).amr, ['pwd', 'otp']);
    assert.equal((await other.me()).login, user.login);
    const c2 = await rejection(createClient({ baseUrl: auth.url }).signin(user.login, user.password));
    assert.ok(c2 instanceof SecondFactorRequired, String(c2));
    const again = await rejection(other.verifySecondFactor(c2.mfaToken, recovery[0]));
    assert.ok(again instanceof AuthError, String(again));
    assert.equal(again.status, 400);

    // New recovery codes (with a TOTP code) replace the old ones.
    const fresh = await client.regenerateRecoveryCodes(await app.next());
    assert.equal(fresh.length, 10);
    assert.ok(!fresh.some((c) => recovery.includes(c)));
    const old = await rejection(other.verifySecondFactor(c2.mfaToken, recovery[1]));
    assert.equal(old.status, 400, String(old));
    const byFresh = await other.verifySecondFactor(c2.mfaToken, fresh[0]);
    assert.ok(byFresh.accessToken);

    // Disable (with a recovery code, so no wait for the next TOTP step):
    // signin answers tokens again.
    await client.disableTotp(fresh[1]);
    await client.logout();
    const back = await client.signin(user.login, user.password);
    assert.deepEqual(claims(back.accessToken).amr, ['pwd']);
    assert.equal((await client.me()).login, user.login);
  });

  it('resetPassword of an account with TOTP sets the password and rejects with SecondFactorRequired', async () => {
    const user = newUser();
    const client = createClient({ baseUrl: auth.url });
    await client.signup(user);
    const app = authenticator((await client.enrollTotp()).secret);
    const recovery = await client.confirmTotp(await app.next());
    await client.logout();

    await client.forgotPassword({ email: user.email });
    const mail = await waitMail(auth, user.email, 'Reset your password');
    const newPassword = `${user.password}-new`;
    const challenge = await rejection(client.resetPassword(mail.token, newPassword));
    assert.ok(challenge instanceof SecondFactorRequired, String(challenge));
    assert.ok(challenge.methods.includes('totp'));
    assert.equal(await client.tokens(), null);
    await client.verifySecondFactor(challenge.mfaToken, recovery[0]);
    assert.equal((await client.me()).login, user.login);

    // The new password is set, and still needs the second factor.
    await client.logout();
    const next = await rejection(client.signin(user.login, newPassword));
    assert.ok(next instanceof SecondFactorRequired, String(next));
  });
});
