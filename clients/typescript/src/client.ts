import { AuthError, errorFromResponse, SecondFactorRequired, type SecondFactorMethod } from './errors.js';
import { jwtExpiry } from './jwt.js';
import { isTokens, memoryStorage, type TokenStorage, type Tokens } from './storage.js';
import { creationOptions, credentialJSON, credentials, requestOptions, type PublicKeyOptionsJSON } from './webauthn.js';

/** The body of `POST /auth/signup` (the seed's CreateUserDto). */
export interface SignupFields {
  firstName: string;
  lastName: string;
  login: string;
  email: string;
  password: string;
}

/** The body of `GET /auth/me`. */
export interface Profile {
  uuid: string;
  firstName: string;
  lastName: string;
  login: string;
  email: string;
  /** Whether the address has been verified by following a mailed link. */
  emailVerified: boolean;
}

/** Whom `forgotPassword` mails a reset link to: the account with this email, or with this login. */
export type ForgotPasswordFields = { email: string } | { login: string };

/** A passkey of the signed-in user (`GET /auth/passkeys`). */
export interface Passkey {
  id: string;
  name: string;
  createdAt: string;
  /** The last signin with it; null until the first. */
  lastUsedAt: string | null;
  /** The credential may be synced between devices (a multi-device passkey). */
  backupEligible: boolean;
  /** It was synced, as of its last use. */
  backedUp: boolean;
}

/** A passkey just registered (`POST /auth/passkeys/register/finish`). */
export interface NewPasskey {
  id: string;
  name: string;
  createdAt: string;
}

/** A pending TOTP authenticator (`POST /auth/mfa/totp`), active once confirmed with `confirmTotp`. */
export interface TotpEnrollment {
  /** The shared secret in base32, for typing into an authenticator app. */
  secret: string;
  /** The `otpauth://totp/...` URL holding the secret, for a QR code. */
  otpauthUrl: string;
}

/** Why a client's tokens were cleared. */
export type SessionEndReason = 'logout' | 'rejected';

/** Options of createClient. */
export interface ClientOptions {
  /** The authstore base URL, such as `https://auth.example.com` (a path prefix is kept). */
  baseUrl: string;
  /** Where tokens are kept; memoryStorage() by default. */
  storage?: TokenStorage;
  /** The fetch used for every request; globalThis.fetch by default. */
  fetch?: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  /**
   * The wrapper refreshes before a request when the access token expires
   * within this many seconds (default 30). The token's exp is read without
   * verifying the token.
   */
  refreshSkewSeconds?: number;
  /**
   * The name of the Web Lock and the BroadcastChannel that the tabs of one
   * browser share for refreshing (default `authstore:<baseUrl>` in a
   * browser page or worker). null turns cross-tab coordination off; giving
   * a name turns it on anywhere these APIs exist (Node.js has
   * BroadcastChannel between the clients of one process).
   */
  lockName?: string | null;
  /** The clock, in milliseconds since the epoch; Date.now by default. */
  now?: () => number;
  /**
   * Called after this client's tokens are cleared: by logout() in this or
   * another tab ('logout'), or because the server refused the refresh
   * token, e.g. the session was revoked or expired ('rejected').
   */
  onSessionEnd?: (reason: SessionEndReason) => void;
}

/** An authstore client; see createClient. */
export interface AuthClient {
  /** Creates a user and signs in; stores and returns the tokens. Rejects with AuthError (400 with a message list for invalid fields). */
  signup(fields: SignupFields): Promise<Tokens>;
  /**
   * Signs in; stores and returns the tokens. Rejects with AuthError (400
   * `The login or password is incorrect`) or, for an account with a second
   * factor, with SecondFactorRequired (no tokens stored): complete it with
   * verifySecondFactor or verifySecondFactorWithPasskey.
   */
  signin(login: string, password: string): Promise<Tokens>;
  /**
   * Rotates the refresh token and returns the new tokens. Concurrent calls
   * (and the wrapper's refreshes) share one request; in a browser, tabs
   * take turns under a Web Lock and pass the new tokens to each other. A
   * 401 from the server clears the tokens (the session has ended) and
   * rejects with that AuthError; other failures keep them.
   */
  refresh(): Promise<Tokens>;
  /**
   * Revokes the session on the server and clears the tokens here and in the
   * other tabs. Tokens are cleared even if the server cannot be reached;
   * the call then rejects so the caller knows the server may still hold the
   * session. Resolves at once when signed out.
   */
  logout(): Promise<void>;
  /** The signed-in user's profile (`GET /auth/me`), through the fetch wrapper. */
  me(): Promise<Profile>;
  /**
   * Changes the signed-in user's password (`POST /auth/password`, through
   * the fetch wrapper). The server rotates this session and revokes every
   * other one; the new tokens are stored (and passed to the other tabs) and
   * returned. Rejects with AuthError: 400 with a message list for a new
   * password that breaks the rules, 400 `The login or password is
   * incorrect` for a wrong current password, 401 when signed out.
   */
  changePassword(currentPassword: string, newPassword: string): Promise<Tokens>;
  /**
   * Asks for a password reset link by mail (`POST /auth/password/forgot`).
   * Resolves alike whether or not such an account exists (the server
   * answers 202 either way); rejects with AuthError for invalid fields or
   * throttling (429, with retryAfter).
   */
  forgotPassword(who: ForgotPasswordFields): Promise<void>;
  /**
   * Sets a new password with the token of a mailed reset link
   * (`POST /auth/password/reset`) and signs in: the new session's tokens
   * are stored and returned, as by signin; every other session of the user
   * is revoked. A used, expired or unknown token rejects with AuthError 400
   * `Invalid or expired link`. For an account with a second factor the
   * password is set but no session opened: it rejects with
   * SecondFactorRequired, as signin does.
   */
  resetPassword(token: string, newPassword: string): Promise<Tokens>;
  /**
   * Follows a mailed verification or email-change link
   * (`POST /auth/email/verify`); needs no session. A used, expired or
   * unknown token rejects with AuthError 400 `Invalid or expired link`.
   */
  verifyEmail(token: string): Promise<void>;
  /** Mails the signed-in user a new verification link (`POST /auth/email/verify/resend`, through the fetch wrapper). */
  resendVerification(): Promise<void>;
  /**
   * Asks to change the signed-in user's email (`POST /auth/email`, through
   * the fetch wrapper): a confirmation link goes to the new address, and
   * the change takes effect once it is followed (verifyEmail). Rejects with
   * AuthError for a wrong password (400) or an invalid or taken address.
   */
  changeEmail(newEmail: string, password: string): Promise<void>;
  /**
   * Registers a passkey for the signed-in user, in a browser: asks the
   * server for creation options, runs navigator.credentials.create (the
   * browser asks the user), and sends the credential back. The page's
   * origin must be one of the server's --webauthn-origins. Rejects with the
   * browser's DOMException (e.g. NotAllowedError when the user cancels) or
   * with AuthError (400 `Invalid credential`, `Invalid or expired
   * ceremony`, 401 when signed out).
   */
  registerPasskey(name?: string): Promise<NewPasskey>;
  /**
   * Signs in with a passkey alone, in a browser: the authenticator offers
   * the user's passkeys for this site (no login typed). Stores and returns
   * the tokens, as signin. Rejects with AuthError 401 `Invalid credential`
   * for a refused one.
   */
  signInWithPasskey(): Promise<Tokens>;
  /**
   * Completes a signin that rejected with SecondFactorRequired with
   * "webauthn" among its methods, with one of the user's passkeys, in a
   * browser: pass the error's mfaToken. Stores and returns the tokens (amr
   * pwd and webauthn).
   */
  verifySecondFactorWithPasskey(mfaToken: string): Promise<Tokens>;
  /**
   * Completes a signin that rejected with SecondFactorRequired
   * (`POST /auth/mfa/verify`) with the error's mfaToken and a TOTP code or
   * a recovery code. Stores and returns the tokens, as signin (amr pwd and
   * otp). A wrong, used or replayed code rejects with AuthError 400 `The
   * code is incorrect` (the mfaToken stays usable); an expired or used
   * mfaToken with AuthError 401 `Invalid or expired MFA token`.
   */
  verifySecondFactor(mfaToken: string, code: string): Promise<Tokens>;
  /**
   * Starts TOTP enrollment for the signed-in user (`POST /auth/mfa/totp`,
   * through the fetch wrapper): returns the secret for the user's
   * authenticator app. Nothing changes at signin until confirmTotp. 400 if
   * TOTP is already enabled.
   */
  enrollTotp(): Promise<TotpEnrollment>;
  /**
   * Turns TOTP on with a code of the enrolled authenticator
   * (`POST /auth/mfa/totp/confirm`); returns the 10 recovery codes, shown
   * once. From now on signin rejects with SecondFactorRequired.
   */
  confirmTotp(code: string): Promise<string[]>;
  /** Turns TOTP off with a TOTP or recovery code (`DELETE /auth/mfa/totp`); recovery codes are deleted too. */
  disableTotp(code: string): Promise<void>;
  /** Replaces the recovery codes, given a TOTP code (`POST /auth/mfa/recovery-codes`); returns the 10 new ones. */
  regenerateRecoveryCodes(code: string): Promise<string[]>;
  /** The signed-in user's passkeys, oldest first (`GET /auth/passkeys`). */
  listPasskeys(): Promise<Passkey[]>;
  /** Deletes one of the signed-in user's passkeys (`DELETE /auth/passkeys/{id}`); 404 AuthError if there is no such passkey. */
  deletePasskey(id: string): Promise<void>;
  /**
   * fetch with `Authorization: Bearer <access token>` added. A relative URL
   * is resolved against baseUrl. Refreshes first when the token is about to
   * expire; after a 401 it refreshes once and retries once. Resolves with
   * the server's response as fetch does, a 401 if the session has ended (the
   * request is then sent without a token). Rejects as fetch does, or with
   * the AuthError of a refresh it needed that failed for another reason
   * (such as 429 or 503, with retryAfter); the tokens are kept then. It
   * attaches the token to whatever URL it is given: use it only for servers
   * that should see the token.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** The stored tokens, or null when signed out. */
  tokens(): Promise<Tokens | null>;
  /** Stops listening to other tabs. The client still works, alone. */
  close(): void;
}

/** A message between the tabs sharing a lockName. */
type TabMessage =
  | { type: 'tokens'; from: string | null; tokens: Tokens }
  | { type: 'ended'; reason: SessionEndReason; refreshToken: string };

/** How many rotations heard from other tabs are remembered. */
const maxRotations = 32;

/** How long, in ms, a tab that waited for the lock waits for the holder's news. */
const peerWaitMs = 100;

function isBrowser(): boolean {
  const g = globalThis as { document?: unknown; WorkerGlobalScope?: unknown };
  return typeof g.document !== 'undefined' || typeof g.WorkerGlobalScope !== 'undefined';
}

function isTabMessage(v: unknown): v is TabMessage {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  if (m.type === 'tokens') return (m.from === null || typeof m.from === 'string') && isTokens(m.tokens);
  return m.type === 'ended' && typeof m.refreshToken === 'string';
}

async function readTokens(res: Response): Promise<Tokens> {
  return tokensFrom(res, await res.json());
}

function tokensFrom(res: Response, v: unknown): Tokens {
  const t = (v ?? {}) as { access_token?: unknown; refresh_token?: unknown };
  if (typeof t.access_token !== 'string' || typeof t.refresh_token !== 'string' || !t.access_token || !t.refresh_token) {
    throw new AuthError(res.status, 'Malformed token response');
  }
  return { accessToken: t.access_token, refreshToken: t.refresh_token };
}

// readSignin reads the answer of a signin: tokens or, for an account with a
// second factor, {mfa_token, methods}, thrown as SecondFactorRequired.
async function readSignin(res: Response): Promise<Tokens> {
  const v: unknown = await res.json();
  const c = (v ?? {}) as { mfa_token?: unknown; methods?: unknown };
  if (typeof c.mfa_token === 'string' && c.mfa_token && Array.isArray(c.methods) && c.methods.every((m) => typeof m === 'string')) {
    throw new SecondFactorRequired(c.mfa_token, c.methods as SecondFactorMethod[]);
  }
  return tokensFrom(res, v);
}

async function recoveryCodes(res: Response): Promise<string[]> {
  const v = (await res.json()) as { recoveryCodes?: unknown };
  if (!Array.isArray(v?.recoveryCodes)) throw new AuthError(res.status, 'Malformed recovery codes response');
  return v.recoveryCodes as string[];
}

/**
 * Creates a client for the authstore at options.baseUrl. In a browser the
 * client coordinates refreshes with the same origin's other tabs (see
 * ClientOptions.lockName); call close() when discarding a client there.
 */
export function createClient(options: ClientOptions): AuthClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const storage = options.storage ?? memoryStorage();
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const skewMs = (options.refreshSkewSeconds ?? 30) * 1000;
  const now = options.now ?? Date.now;
  const lockName = options.lockName === undefined ? (isBrowser() ? `authstore:${base}` : null) : options.lockName;

  const url = (path: string): string => base + (path.startsWith('/') ? path : `/${path}`);
  const resolve = (input: RequestInfo | URL): RequestInfo | URL =>
    typeof input === 'string' && !/^[a-z][a-z\d+.-]*:/i.test(input) ? url(input) : input;

  const postJSON = (path: string, body: unknown): Promise<Response> =>
    doFetch(url(path), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
    });

  // Cross-tab coordination. rotations maps a refresh token to the tokens
  // that replaced it, as other tabs announced, so that messages arriving out
  // of order still leave this tab with the newest pair.
  const channel = lockName !== null && typeof BroadcastChannel === 'function' ? new BroadcastChannel(lockName) : null;
  (channel as { unref?: () => void } | null)?.unref?.();
  const rotations = new Map<string, Tokens>();

  const announce = (m: TabMessage): void => {
    try {
      channel?.postMessage(m);
    } catch {
      // A closed channel: this client is on its own now.
    }
  };

  const newest = (t: Tokens): Tokens => {
    let cur = t;
    for (let i = 0; i <= maxRotations; i++) {
      const next = rotations.get(cur.refreshToken);
      if (!next) break;
      cur = next;
    }
    return cur;
  };

  const remember = (from: string, to: Tokens): void => {
    rotations.set(from, to);
    if (rotations.size > maxRotations) {
      const oldest = rotations.keys().next().value;
      if (oldest !== undefined) rotations.delete(oldest);
    }
  };

  const endSession = async (reason: SessionEndReason, refreshToken: string, fromPeer = false): Promise<void> => {
    await storage.clear();
    if (!fromPeer) announce({ type: 'ended', reason, refreshToken });
    options.onSessionEnd?.(reason);
  };

  const onMessage = async (m: TabMessage): Promise<void> => {
    const cur = await storage.get();
    if (m.type === 'tokens') {
      if (m.from === null) {
        await storage.set(m.tokens); // a signin in another tab
        return;
      }
      remember(m.from, m.tokens);
      if (cur) {
        const next = newest(cur);
        if (next !== cur) await storage.set(next);
      }
      return;
    }
    // With a shared storage the other tab has already cleared it.
    if (!cur || newest(cur).refreshToken === m.refreshToken) await endSession(m.reason, m.refreshToken, true);
  };

  const waiters = new Set<() => void>();
  if (channel) {
    channel.onmessage = (ev: MessageEvent) => {
      if (!isTabMessage(ev.data)) return;
      void onMessage(ev.data)
        .catch(() => {})
        .finally(() => [...waiters].forEach((w) => w()));
    };
  }

  // withLock runs fn holding the tabs' Web Lock, where there is one. fn is
  // told whether it had to wait for another tab to release the lock.
  const withLock = async <T>(fn: (waited: boolean) => Promise<T>): Promise<T> => {
    const locks = lockName !== null ? (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks : undefined;
    if (!locks) return fn(false);
    const name = lockName!;
    const got = (await locks.request(name, { ifAvailable: true }, async (lock) => (lock ? { v: await fn(false) } : null))) as
      | { v: T }
      | null;
    if (got) return got.v;
    return locks.request(name, () => fn(true)) as Promise<T>;
  };

  // peerNews resolves after the next message from another tab has been
  // applied, or after ms.
  const peerNews = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });

  const store = async (from: string | null, t: Tokens): Promise<Tokens> => {
    await storage.set(t);
    announce({ type: 'tokens', from, tokens: t });
    return t;
  };

  // rotate refreshes unless the stored access token is no longer stale, i.e.
  // someone (this tab or another) already replaced it. After waiting for
  // the lock, another tab has most likely just refreshed: its message,
  // which may arrive a moment after the lock, is waited for briefly, so
  // that this tab does not present the token just replaced (the server's
  // grace window would answer that too, at the cost of a request).
  const rotate = async (stale: string | null, waited: boolean): Promise<Tokens> => {
    if (waited && stale !== null && (await storage.get())?.accessToken === stale) await peerNews(peerWaitMs);
    const stored = await storage.get();
    if (!stored) throw new AuthError(401, 'Not signed in');
    const cur = newest(stored);
    if (cur !== stored) await storage.set(cur);
    if (stale !== null && cur.accessToken !== stale) return cur;
    const res = await postJSON('/auth/refresh', { refresh_token: cur.refreshToken });
    if (res.ok) return store(cur.refreshToken, await readTokens(res));
    const err = await errorFromResponse(res);
    if (res.status === 401) await endSession('rejected', cur.refreshToken);
    throw err;
  };

  let inflight: Promise<Tokens> | null = null;
  const shared = (stale: string | null): Promise<Tokens> => {
    inflight ??= withLock((waited) => rotate(stale, waited)).finally(() => {
      inflight = null;
    });
    return inflight;
  };

  // refreshFrom returns tokens whose access token is not stale. A refresh
  // already in flight is joined; if it was started for an older token and
  // yields the stale one, one more refresh follows.
  const refreshFrom = async (stale: string | null): Promise<Tokens> => {
    const t = await shared(stale);
    return stale !== null && t.accessToken === stale ? shared(stale) : t;
  };

  const expiresSoon = (access: string, skew: number): boolean => {
    const exp = jwtExpiry(access);
    return exp !== null && exp * 1000 - skew <= now();
  };

  const withBearer = (req: Request, tokens: Tokens | null): Request => {
    const copy = req.clone();
    if (!tokens) return copy;
    const headers = new Headers(copy.headers);
    headers.set('Authorization', `Bearer ${tokens.accessToken}`);
    return new Request(copy, { headers });
  };

  const authFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const req = new Request(resolve(input), init);
    let tokens = await storage.get();
    if (tokens && expiresSoon(tokens.accessToken, skewMs)) {
      try {
        tokens = await refreshFrom(tokens.accessToken);
      } catch (e) {
        if (e instanceof AuthError && e.status === 401) tokens = null; // the session has ended
        else if (expiresSoon(tokens.accessToken, 0)) throw e;
        // else: the refresh failed for now, but the token still works.
      }
    }
    const res = await doFetch(withBearer(req, tokens));
    if (res.status !== 401 || !tokens) return res;
    let next: Tokens;
    try {
      next = await refreshFrom(tokens.accessToken);
    } catch (e) {
      if (e instanceof AuthError && e.status === 401) return res; // the session has ended
      throw e;
    }
    if (next.accessToken === tokens.accessToken) return res;
    await res.body?.cancel().catch(() => {});
    return doFetch(withBearer(req, next));
  };

  // authSend sends body as JSON through the fetch wrapper with method; it
  // rejects with the AuthError of a non-2xx answer. authPost is its POST.
  const authSend = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await authFetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  };
  const authPost = (path: string, body?: unknown): Promise<Response> => authSend('POST', path, body);

  // post posts body as JSON without a token, for answers without a body
  // worth reading ({}); it rejects with the AuthError of a non-2xx answer.
  const post = async (path: string, body: unknown): Promise<void> => {
    const res = await postJSON(path, body);
    if (!res.ok) throw await errorFromResponse(res);
    await res.body?.cancel().catch(() => {});
  };

  const signInWith = async (path: string, body: unknown): Promise<Tokens> => {
    const res = await postJSON(path, body);
    if (!res.ok) throw await errorFromResponse(res);
    return store(null, await readSignin(res));
  };

  return {
    signup: (fields) => signInWith('/auth/signup', fields),
    signin: (login, password) => signInWith('/auth/signin', { login, password }),
    refresh: async () => {
      const t = await storage.get();
      return refreshFrom(t ? t.accessToken : null);
    },
    logout: async () => {
      await inflight?.catch(() => {});
      await withLock(async () => {
        const stored = await storage.get();
        if (!stored) return;
        const cur = newest(stored);
        let err: unknown = null;
        try {
          const res = await postJSON('/auth/logout', { refresh_token: cur.refreshToken });
          // 401: the session had already ended, which is what logout wants.
          if (!res.ok && res.status !== 401) err = await errorFromResponse(res);
        } catch (e) {
          err = e;
        }
        await endSession('logout', cur.refreshToken);
        if (err !== null) throw err;
      });
    },
    me: async () => {
      const res = await authFetch('/auth/me', { headers: { Accept: 'application/json' } });
      if (!res.ok) throw await errorFromResponse(res);
      return (await res.json()) as Profile;
    },
    // The server rotates this session, returning tokens at least as new as
    // any a concurrent refresh got: they are announced like a signin's, so
    // that every tab adopts them.
    changePassword: async (currentPassword, newPassword) =>
      store(null, await readTokens(await authPost('/auth/password', { currentPassword, newPassword }))),
    forgotPassword: (who) => post('/auth/password/forgot', who),
    resetPassword: (token, newPassword) => signInWith('/auth/password/reset', { token, newPassword }),
    verifyEmail: (token) => post('/auth/email/verify', { token }),
    resendVerification: async () => {
      const res = await authPost('/auth/email/verify/resend');
      await res.body?.cancel().catch(() => {});
    },
    changeEmail: async (newEmail, password) => {
      const res = await authPost('/auth/email', { newEmail, password });
      await res.body?.cancel().catch(() => {});
    },
    registerPasskey: async (name) => {
      const begin = (await (await authPost('/auth/passkeys/register/begin')).json()) as { ceremony: string; publicKey: PublicKeyOptionsJSON };
      const cred = await credentials().create({ publicKey: creationOptions(begin.publicKey) });
      const body: Record<string, unknown> = { ceremony: begin.ceremony, credential: credentialJSON(cred) };
      if (name !== undefined) body.name = name;
      return (await (await authPost('/auth/passkeys/register/finish', body)).json()) as NewPasskey;
    },
    signInWithPasskey: async () => {
      const res = await doFetch(url('/auth/passkeys/login/begin'), { method: 'POST', headers: { Accept: 'application/json' } });
      if (!res.ok) throw await errorFromResponse(res);
      const begin = (await res.json()) as { ceremony: string; publicKey: PublicKeyOptionsJSON };
      const cred = await credentials().get({ publicKey: requestOptions(begin.publicKey) });
      return signInWith('/auth/passkeys/login/finish', { ceremony: begin.ceremony, credential: credentialJSON(cred) });
    },
    verifySecondFactorWithPasskey: async (mfaToken) => {
      const res = await postJSON('/auth/mfa/webauthn/begin', { mfa_token: mfaToken });
      if (!res.ok) throw await errorFromResponse(res);
      const begin = (await res.json()) as { publicKey: PublicKeyOptionsJSON };
      const cred = await credentials().get({ publicKey: requestOptions(begin.publicKey) });
      return signInWith('/auth/mfa/verify', { mfa_token: mfaToken, credential: credentialJSON(cred) });
    },
    verifySecondFactor: (mfaToken, code) => signInWith('/auth/mfa/verify', { mfa_token: mfaToken, code }),
    enrollTotp: async () => {
      const v = (await (await authPost('/auth/mfa/totp')).json()) as TotpEnrollment;
      return { secret: v.secret, otpauthUrl: v.otpauthUrl };
    },
    confirmTotp: async (code) => recoveryCodes(await authPost('/auth/mfa/totp/confirm', { code })),
    disableTotp: async (code) => {
      const res = await authSend('DELETE', '/auth/mfa/totp', { code });
      await res.body?.cancel().catch(() => {});
    },
    regenerateRecoveryCodes: async (code) => recoveryCodes(await authPost('/auth/mfa/recovery-codes', { code })),
    listPasskeys: async () => {
      const res = await authFetch('/auth/passkeys', { headers: { Accept: 'application/json' } });
      if (!res.ok) throw await errorFromResponse(res);
      return (await res.json()) as Passkey[];
    },
    deletePasskey: async (id) => {
      const res = await authFetch(`/auth/passkeys/${encodeURIComponent(id)}`, { method: 'DELETE', headers: { Accept: 'application/json' } });
      if (!res.ok) throw await errorFromResponse(res);
      await res.body?.cancel().catch(() => {});
    },
    fetch: authFetch,
    tokens: async () => storage.get(),
    close: () => channel?.close(),
  };
}
