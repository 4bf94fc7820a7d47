export { createClient } from './client.js';
export type { AuthClient, ClientOptions, ForgotPasswordFields, NewPasskey, Passkey, Profile, SessionEndReason, SignupFields } from './client.js';
export { creationOptions, credentialJSON, requestOptions } from './webauthn.js';
export type { CredentialJSON, PublicKeyOptionsJSON } from './webauthn.js';
export { AuthError, errorFromResponse, parseRetryAfter } from './errors.js';
export type { ErrorBody } from './errors.js';
export { jwtExpiry } from './jwt.js';
export { localStorageStorage, memoryStorage } from './storage.js';
export type { TokenStorage, Tokens } from './storage.js';
