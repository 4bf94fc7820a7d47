export { createClient } from './client.js';
export type { AuthClient, ClientOptions, ForgotPasswordFields, NewPasskey, Passkey, Profile, SessionEndReason, SignupFields, TotpEnrollment } from './client.js';
export { creationOptions, credentialJSON, requestOptions } from './webauthn.js';
export type { CredentialJSON, PublicKeyOptionsJSON } from './webauthn.js';
export { AuthError, errorFromResponse, parseRetryAfter, SecondFactorRequired } from './errors.js';
export type { ErrorBody, SecondFactorMethod } from './errors.js';
export { jwtExpiry } from './jwt.js';
export { localStorageStorage, memoryStorage } from './storage.js';
export type { TokenStorage, Tokens } from './storage.js';
