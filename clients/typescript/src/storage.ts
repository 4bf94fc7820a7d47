/** The pair of tokens authstore issues on signup, signin and refresh. */
export interface Tokens {
  /** The JWT access token, sent as `Authorization: Bearer <accessToken>`. */
  accessToken: string;
  /** The opaque refresh token; each refresh replaces it. */
  refreshToken: string;
}

/**
 * Where a client keeps its tokens. Methods may be synchronous or return
 * promises. `get` returns null when signed out. A storage shared by
 * several clients (localStorage, for tabs) lets each see the others'
 * rotations at once; a private one (memory) gets them by BroadcastChannel.
 */
export interface TokenStorage {
  get(): Tokens | null | Promise<Tokens | null>;
  set(tokens: Tokens): void | Promise<void>;
  clear(): void | Promise<void>;
}

/** Reports whether v is a Tokens object with two non-empty strings. */
export function isTokens(v: unknown): v is Tokens {
  if (typeof v !== 'object' || v === null) return false;
  const t = v as Partial<Record<keyof Tokens, unknown>>;
  return typeof t.accessToken === 'string' && t.accessToken !== '' &&
    typeof t.refreshToken === 'string' && t.refreshToken !== '';
}

/**
 * Keeps tokens in this JavaScript realm only (the default): they are gone
 * when the page reloads, and script injected into the page can read them
 * only while it runs there.
 */
export function memoryStorage(initial: Tokens | null = null): TokenStorage {
  let tokens: Tokens | null = initial ? { ...initial } : null;
  return {
    get: () => (tokens ? { ...tokens } : null),
    set: (t) => {
      tokens = { accessToken: t.accessToken, refreshToken: t.refreshToken };
    },
    clear: () => {
      tokens = null;
    },
  };
}

/**
 * Keeps tokens in Web Storage (localStorage by default) under key, as JSON,
 * so they survive reloads and are shared by the origin's tabs. Any script
 * running on the origin, including injected script (XSS), can read them:
 * see the README. A value that is not a token pair reads as signed out.
 */
export function localStorageStorage(key = 'authstore.tokens', store?: Storage): TokenStorage {
  const s = (): Storage => store ?? globalThis.localStorage;
  return {
    get: () => {
      const raw = s().getItem(key);
      if (raw === null) return null;
      try {
        const v: unknown = JSON.parse(raw);
        return isTokens(v) ? { accessToken: v.accessToken, refreshToken: v.refreshToken } : null;
      } catch {
        return null;
      }
    },
    set: (t) => s().setItem(key, JSON.stringify({ accessToken: t.accessToken, refreshToken: t.refreshToken })),
    clear: () => s().removeItem(key),
  };
}
