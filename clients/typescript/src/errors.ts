/**
 * The JSON body of every authstore error response, the Fake Store API's
 * shape: `message` is a string, or an array of strings for validation
 * errors.
 */
export interface ErrorBody {
  statusCode: number;
  message: string | string[];
  timestamp?: string;
  path?: string;
}

/**
 * An error answer from authstore (any non-2xx status), or a client-side
 * refusal such as calling `refresh()` while signed out (`status` 401,
 * `body` null). Network failures are not AuthErrors: they reject with
 * whatever `fetch` rejects with.
 */
export class AuthError extends Error {
  /** The HTTP status of the answer. */
  readonly status: number;
  /**
   * The error body's `message` exactly as the server sent it: a string, or
   * an array of strings for validation errors. `message` (inherited from
   * Error, so always a string) joins an array with "; ".
   */
  readonly serverMessage: string | string[];
  /** The parsed error body, or null if the answer was not in the error shape. */
  readonly body: ErrorBody | null;
  /** Seconds to wait before retrying, from `Retry-After` (429 and 503), if sent. */
  readonly retryAfter: number | undefined;

  constructor(status: number, serverMessage: string | string[], body: ErrorBody | null = null, retryAfter?: number) {
    super(Array.isArray(serverMessage) ? serverMessage.join('; ') : serverMessage);
    this.name = 'AuthError';
    this.status = status;
    this.serverMessage = serverMessage;
    this.body = body;
    this.retryAfter = retryAfter;
  }

  /** The server's message as a list: a string message is a one-element list. */
  get messages(): string[] {
    return Array.isArray(this.serverMessage) ? [...this.serverMessage] : [this.serverMessage];
  }
}

/**
 * Parses a Retry-After value: delta-seconds, or an HTTP date turned into
 * the seconds from now (at least 0). Undefined when absent or unparsable.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

function isErrorBody(v: unknown): v is ErrorBody {
  if (typeof v !== 'object' || v === null) return false;
  const m = (v as { message?: unknown }).message;
  return typeof m === 'string' || (Array.isArray(m) && m.every((s) => typeof s === 'string'));
}

/**
 * Reads a non-2xx response into an AuthError. A body that is not in the
 * error shape gives the status text (or "HTTP <status>") as the message.
 */
export async function errorFromResponse(res: Response): Promise<AuthError> {
  let body: ErrorBody | null = null;
  try {
    const parsed: unknown = JSON.parse(await res.text());
    if (isErrorBody(parsed)) body = parsed;
  } catch {
    // Not JSON: fall back to the status line below.
  }
  const message = body?.message ?? (res.statusText || `HTTP ${res.status}`);
  return new AuthError(res.status, message, body, parseRetryAfter(res.headers.get('Retry-After')));
}

/** A second factor that can complete a signin (the server's `methods`). */
export type SecondFactorMethod = 'totp' | 'webauthn' | 'recovery';

/**
 * The rejection of `signin()` or `resetPassword()` for an account with a
 * second factor: the password was right (or, for a reset, has been set),
 * and the server answered `200 {mfa_token, methods}` instead of tokens. No
 * tokens are stored. Complete the signin within 5 minutes with
 * `verifySecondFactor(err.mfaToken, code)` (a TOTP or recovery code) or,
 * in a browser, `verifySecondFactorWithPasskey(err.mfaToken)`. Not an
 * AuthError: nothing failed, the signin has one more step.
 */
export class SecondFactorRequired extends Error {
  /** The single-use token that `POST /auth/mfa/verify` completes (valid 5 minutes). */
  readonly mfaToken: string;
  /** The second factors this account can use, such as `["totp", "recovery"]`. */
  readonly methods: SecondFactorMethod[];

  constructor(mfaToken: string, methods: SecondFactorMethod[]) {
    super(`A second factor is required: ${methods.join(', ')}`);
    this.name = 'SecondFactorRequired';
    this.mfaToken = mfaToken;
    this.methods = methods;
  }
}
