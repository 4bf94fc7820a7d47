// Account recovery and verification against a real `authstore serve`
// without --smtp-url: the server writes each mail to its log, and the tests
// take the links out of it, as a user would out of their mailbox.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthError, createClient } from '../dist/index.js';
import { claims, mailLogArgs, newUser, startAuthstore, waitMail } from './helpers.mjs';

const verifySubject = 'Confirm your email address';
const resetSubject = 'Reset your password';
const confirmNewSubject = 'Confirm your new email address';
const changedSubject = 'Your email address is being changed';
const invalidLink = 'Invalid or expired link';

// assertAuthError checks that p rejects with an AuthError of status and,
// if given, message (the server's string message).
async function assertAuthError(p, status, message) {
  const err = await p.then(
    (v) => assert.fail(`resolved with ${JSON.stringify(v)}`),
    (e) => e,
  );
  assert.ok(err instanceof AuthError, String(err));
  assert.equal(err.status, status, err.message);
  if (message !== undefined) assert.equal(err.serverMessage, message);
  return err;
}

// rawRefresh presents a refresh token to the server directly, so that the
// clients under test keep their state; it returns the status.
const rawRefresh = async (auth, rt) =>
  (
    await fetch(`${auth.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: rt }),
    })
  ).status;

describe('account recovery and verification against authstore serve', () => {
  let auth;

  before(async () => {
    auth = await startAuthstore([...mailLogArgs, '--reset-url', 'https://app.example/reset?token={token}']);
  });
  after(async () => {
    await auth?.stop();
  });

  const signedUp = async (opts = {}) => {
    const user = newUser();
    const ended = [];
    const client = createClient({ baseUrl: auth.url, onSessionEnd: (r) => ended.push(r), ...opts });
    await client.signup(user);
    return { client, user, ended };
  };

  it('signup mails a verification link; verifyEmail with its token verifies the address', async () => {
    const { client, user } = await signedUp();
    assert.equal((await client.me()).emailVerified, false);
    const mail = await waitMail(auth, user.email, verifySubject);
    assert.ok(mail.link.startsWith('http://localhost:3000/verify-email?token='), mail.link);
    // Following the link needs no session.
    await createClient({ baseUrl: auth.url }).verifyEmail(mail.token);
    const me = await client.me();
    assert.equal(me.emailVerified, true);
    assert.equal(me.email, user.email);
    await assertAuthError(client.verifyEmail(mail.token), 400, invalidLink);
  });

  it('resendVerification mails a new link that verifies; signed out it is 401', async () => {
    const { client, user } = await signedUp();
    await waitMail(auth, user.email, verifySubject);
    await client.resendVerification();
    const mail = await waitMail(auth, user.email, verifySubject);
    await client.verifyEmail(mail.token);
    assert.equal((await client.me()).emailVerified, true);
    await assertAuthError(createClient({ baseUrl: auth.url }).resendVerification(), 401);
  });

  it('forgotPassword then resetPassword: a new session, the old refresh token refused, the new password in force', async () => {
    const { client: old, user, ended } = await signedUp();
    const oldTokens = await old.tokens();

    const browser = createClient({ baseUrl: auth.url });
    assert.equal(await browser.forgotPassword({ email: user.email.toUpperCase() }), undefined);
    const mail = await waitMail(auth, user.email, resetSubject);
    assert.ok(mail.link.startsWith('https://app.example/reset?token='), mail.link);

    const newPassword = `${user.password}-reset`;
    const t = await browser.resetPassword(mail.token, newPassword);
    assert.deepEqual(await browser.tokens(), t);
    assert.equal(claims(t.accessToken).sub, claims(oldTokens.accessToken).sub);
    assert.notEqual(claims(t.accessToken).sid, claims(oldTokens.accessToken).sid);
    const me = await browser.me();
    assert.equal(me.login, user.login);

    // The session from before the reset is revoked.
    assert.equal(await rawRefresh(auth, oldTokens.refreshToken), 401);
    await assertAuthError(old.refresh(), 401, 'Invalid token');
    assert.equal(await old.tokens(), null);
    assert.deepEqual(ended, ['rejected']);
    // The new session keeps working.
    assert.notEqual((await browser.refresh()).refreshToken, t.refreshToken);
    assert.equal((await browser.me()).uuid, me.uuid);

    await assertAuthError(createClient({ baseUrl: auth.url }).signin(user.login, user.password), 400, 'The login or password is incorrect');
    await createClient({ baseUrl: auth.url }).signin(user.login, newPassword);
  });

  it('a used reset token is refused with AuthError 400 Invalid or expired link', async () => {
    const { user } = await signedUp();
    const browser = createClient({ baseUrl: auth.url });
    await browser.forgotPassword({ login: user.login });
    const { token } = await waitMail(auth, user.email, resetSubject);
    const t = await browser.resetPassword(token, `${user.password}-1`);

    const again = createClient({ baseUrl: auth.url });
    const err = await assertAuthError(again.resetPassword(token, `${user.password}-2`), 400, invalidLink);
    assert.equal(err.body.path, '/auth/password/reset');
    assert.equal(await again.tokens(), null);
    await assertAuthError(browser.resetPassword('not-a-token', `${user.password}-3`), 400, invalidLink);
    // A refused reset leaves the stored session as it was.
    assert.deepEqual(await browser.tokens(), t);
    await createClient({ baseUrl: auth.url }).signin(user.login, `${user.password}-1`);
  });

  it('forgotPassword resolves alike for an unknown account, and sends nothing', async () => {
    const client = createClient({ baseUrl: auth.url });
    const nobody = newUser();
    assert.equal(await client.forgotPassword({ email: nobody.email }), undefined);
    assert.equal(await client.forgotPassword({ login: nobody.login }), undefined);
    await assert.rejects(waitMail(auth, nobody.email, /./, 1500), /no mail/);
  });

  it('changePassword rotates this session, ends the others and sets the new password', async () => {
    const { client, user } = await signedUp();
    const other = createClient({ baseUrl: auth.url });
    await other.signin(user.login, user.password);
    const before = await client.tokens();

    await assertAuthError(client.changePassword('wrong-password!', `${user.password}-new`), 400, 'The login or password is incorrect');
    const weak = await assertAuthError(client.changePassword(user.password, 'x'), 400);
    assert.ok(weak.messages.some((m) => m.startsWith('newPassword')), weak.message);
    assert.deepEqual(await client.tokens(), before);

    const newPassword = `${user.password}-new`;
    const t = await client.changePassword(user.password, newPassword);
    assert.deepEqual(await client.tokens(), t);
    assert.notEqual(t.refreshToken, before.refreshToken);
    assert.equal(claims(t.accessToken).sid, claims(before.accessToken).sid, 'the same session, rotated');
    assert.equal((await client.me()).login, user.login);
    await client.refresh();
    assert.equal((await client.me()).login, user.login);

    await assertAuthError(other.refresh(), 401);
    await assertAuthError(createClient({ baseUrl: auth.url }).signin(user.login, user.password), 400);
    await createClient({ baseUrl: auth.url }).signin(user.login, newPassword);
    await assertAuthError(createClient({ baseUrl: auth.url }).changePassword(newPassword, `${newPassword}-2`), 401);
  });

  it('changeEmail mails the new address a link; once followed, me().email is the new address', async () => {
    const { client, user } = await signedUp();
    const newEmail = newUser().email;
    await assertAuthError(client.changeEmail(newEmail, 'wrong-password!'), 400);
    await client.changeEmail(newEmail, user.password);

    const mail = await waitMail(auth, newEmail, confirmNewSubject);
    assert.equal((await client.me()).email, user.email, 'changed before the link was followed');
    await createClient({ baseUrl: auth.url }).verifyEmail(mail.token);
    const me = await client.me();
    assert.equal(me.email, newEmail);
    assert.equal(me.emailVerified, true);
    // The old address is told.
    await waitMail(auth, user.email, changedSubject);
    await assertAuthError(client.verifyEmail(mail.token), 400, invalidLink);
  });
});

describe('authstore serve --require-verified-email', () => {
  let auth;

  before(async () => {
    auth = await startAuthstore([...mailLogArgs, '--require-verified-email']);
  });
  after(async () => {
    await auth?.stop();
  });

  it('signin of an unverified account is AuthError 403 Email not verified until the link is followed', async () => {
    const user = newUser();
    await createClient({ baseUrl: auth.url }).signup(user);
    const client = createClient({ baseUrl: auth.url });
    await assertAuthError(client.signin(user.login, user.password), 403, 'Email not verified');
    // The password is checked first.
    await assertAuthError(client.signin(user.login, 'wrong-password!'), 400);
    const mail = await waitMail(auth, user.email, verifySubject);
    await client.verifyEmail(mail.token);
    await client.signin(user.login, user.password);
    assert.equal((await client.me()).emailVerified, true);
  });
});
