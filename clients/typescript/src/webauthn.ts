// The browser side of passkeys: authstore speaks the WebAuthn Level 3 JSON
// forms (options with base64url strings, credential.toJSON()); the
// browser's navigator.credentials takes and gives ArrayBuffers. These
// helpers use the browser's own conversions where it has them
// (PublicKeyCredential.parseCreationOptionsFromJSON,
// parseRequestOptionsFromJSON, credential.toJSON()) and do them by hand
// otherwise.

/** Options of navigator.credentials.create or .get in their JSON form, as authstore sends them. */
export type PublicKeyOptionsJSON = Record<string, unknown>;

/** A PublicKeyCredential in its JSON form (RegistrationResponseJSON or AuthenticationResponseJSON). */
export type CredentialJSON = Record<string, unknown>;

type ParseStatics = {
  parseCreationOptionsFromJSON?: (o: unknown) => PublicKeyCredentialCreationOptions;
  parseRequestOptionsFromJSON?: (o: unknown) => PublicKeyCredentialRequestOptions;
};

function fromB64url(s: string): ArrayBuffer {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

function toB64url(buf: ArrayBuffer | ArrayBufferView | null | undefined): string | undefined {
  if (!buf) return undefined;
  const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function descriptors(list: unknown): PublicKeyCredentialDescriptor[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return list.map((d: { id: string; type?: string; transports?: string[] }) => ({
    ...d,
    type: 'public-key',
    id: fromB64url(d.id),
  })) as PublicKeyCredentialDescriptor[];
}

function statics(): ParseStatics {
  const pkc = (globalThis as { PublicKeyCredential?: unknown }).PublicKeyCredential;
  if (!pkc) throw new Error('WebAuthn is not available here (no PublicKeyCredential): passkeys need a browser in a secure context');
  return pkc as ParseStatics;
}

/** Creation options JSON to what navigator.credentials.create takes as publicKey. */
export function creationOptions(json: PublicKeyOptionsJSON): PublicKeyCredentialCreationOptions {
  const s = statics();
  if (typeof s.parseCreationOptionsFromJSON === 'function') return s.parseCreationOptionsFromJSON(json);
  const user = json.user as { id: string; name: string; displayName: string };
  const o: Record<string, unknown> = {
    ...json,
    challenge: fromB64url(json.challenge as string),
    user: { ...user, id: fromB64url(user.id) },
  };
  const ex = descriptors(json.excludeCredentials);
  if (ex) o.excludeCredentials = ex;
  return o as unknown as PublicKeyCredentialCreationOptions;
}

/** Request options JSON to what navigator.credentials.get takes as publicKey. */
export function requestOptions(json: PublicKeyOptionsJSON): PublicKeyCredentialRequestOptions {
  const s = statics();
  if (typeof s.parseRequestOptionsFromJSON === 'function') return s.parseRequestOptionsFromJSON(json);
  const o: Record<string, unknown> = { ...json, challenge: fromB64url(json.challenge as string) };
  const allow = descriptors(json.allowCredentials);
  if (allow) o.allowCredentials = allow;
  return o as unknown as PublicKeyCredentialRequestOptions;
}

/** A credential from navigator.credentials to its JSON form: credential.toJSON() where the browser has it. */
export function credentialJSON(cred: Credential | null): CredentialJSON {
  if (!cred) throw new Error('the browser returned no credential');
  const c = cred as PublicKeyCredential & { toJSON?: () => CredentialJSON };
  if (typeof c.toJSON === 'function') return c.toJSON();
  const r = c.response as AuthenticatorResponse & {
    attestationObject?: ArrayBuffer;
    authenticatorData?: ArrayBuffer;
    signature?: ArrayBuffer;
    userHandle?: ArrayBuffer | null;
    getTransports?: () => string[];
  };
  const response: Record<string, unknown> = { clientDataJSON: toB64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toB64url(r.attestationObject);
    response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
  } else {
    response.authenticatorData = toB64url(r.authenticatorData);
    response.signature = toB64url(r.signature);
    const handle = toB64url(r.userHandle);
    if (handle !== undefined) response.userHandle = handle;
  }
  const out: CredentialJSON = {
    id: c.id,
    rawId: toB64url(c.rawId),
    type: c.type,
    response,
    clientExtensionResults: typeof c.getClientExtensionResults === 'function' ? c.getClientExtensionResults() : {},
  };
  if (c.authenticatorAttachment) out.authenticatorAttachment = c.authenticatorAttachment;
  return out;
}

/** navigator.credentials, or an error saying passkeys need a browser. */
export function credentials(): CredentialsContainer {
  const nav = (globalThis as { navigator?: { credentials?: CredentialsContainer } }).navigator;
  if (!nav?.credentials) throw new Error('WebAuthn is not available here (no navigator.credentials): passkeys need a browser in a secure context');
  return nav.credentials;
}
