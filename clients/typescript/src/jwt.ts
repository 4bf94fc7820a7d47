/**
 * Returns the `exp` claim (seconds since the epoch) of a JWT's payload, or
 * null if the token is not a JWT or has no numeric exp.
 *
 * The signature is NOT verified: the client only uses exp to decide when to
 * refresh early. The server verifies every token it is given; a forged exp
 * can at worst make this client refresh too early or too late (then the
 * server's 401 makes it refresh).
 */
export function jwtExpiry(token: string): number | null {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const payload: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof payload !== 'object' || payload === null) return null;
    const exp = (payload as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : null;
  } catch {
    return null;
  }
}
