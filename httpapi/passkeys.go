package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/authstore/auth"
)

// The passkey routes take JSON only: a credential is an object, which the
// urlencoded and multipart forms cannot carry. A body of another type has
// no members, so its finish is refused as having no ceremony.

// rawMembers reads a JSON object body and returns its members as raw JSON.
// An empty body, another media type or a JSON array has none; a body it
// cannot parse is a 400, a larger one than limit a 413, as for decode.
func rawMembers(w http.ResponseWriter, r *http.Request, limit int64) (map[string]json.RawMessage, error) {
	media, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || media != mediaJSON {
		return nil, nil
	}
	charset := strings.ToLower(params["charset"])
	if charset != "" && !strings.HasPrefix(charset, "utf-") {
		return nil, unsupportedCharset(charset)
	}
	body, err := contentReader(w, r, limit)
	if err != nil {
		return nil, err
	}
	text, err := readText(body, charset)
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return nil, &httpError{status: http.StatusRequestEntityTooLarge, message: "Payload too large"}
	}
	if err != nil {
		return nil, err
	}
	// decodeJSON answers a malformed body as the other routes do.
	if _, err := decodeJSON(strings.NewReader(text), ""); err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(text), &m) != nil {
		return nil, nil // an array, or an empty body
	}
	return m, nil
}

// passkeyFinish is the body of a finish: {ceremony, credential, name?}. A
// credential that is not an object is none.
func passkeyFinish(w http.ResponseWriter, r *http.Request, limit int64) (auth.PasskeyFinish, error) {
	m, err := rawMembers(w, r, limit)
	if err != nil {
		return auth.PasskeyFinish{}, err
	}
	var f auth.PasskeyFinish
	if v, ok := m["ceremony"]; ok {
		f.Ceremony = jsonValue(v)
	}
	if v, ok := m["name"]; ok {
		f.Name = jsonValue(v)
	}
	if c := bytes.TrimSpace(m["credential"]); len(c) > 0 && c[0] == '{' {
		f.Credential = c
	}
	return f, nil
}

// ceremonyStart is the answer of a begin.
type ceremonyStart struct {
	Ceremony  string          `json:"ceremony"`
	PublicKey json.RawMessage `json:"publicKey"`
}

// passkeyView is a passkey as the API shows it.
type passkeyView struct {
	ID             string  `json:"id"`
	Name           string  `json:"name"`
	CreatedAt      string  `json:"createdAt"`
	LastUsedAt     *string `json:"lastUsedAt"`
	BackupEligible bool    `json:"backupEligible"`
	BackedUp       bool    `json:"backedUp"`
}

func viewPasskey(p *auth.Passkey) passkeyView {
	v := passkeyView{ID: p.ID, Name: p.Name, CreatedAt: isoMillis(p.CreatedAt), BackupEligible: p.BackupEligible, BackedUp: p.BackedUp}
	if !p.LastUsedAt.IsZero() {
		s := isoMillis(p.LastUsedAt)
		v.LastUsedAt = &s
	}
	return v
}

// handleRegisterPasskeyBegin serves POST /auth/passkeys/register/begin
// (bearer): {ceremony, publicKey: creation options}.
func handleRegisterPasskeyBegin(ew errorWriter, svc *auth.Service) http.Handler {
	return authenticated(ew, svc, func(w http.ResponseWriter, r *http.Request, c *auth.Caller) error {
		start, err := svc.BeginPasskeyRegistration(r.Context(), c)
		if err != nil {
			return err
		}
		encode(w, http.StatusOK, ceremonyStart{start.Ceremony, start.Options})
		return nil
	})
}

// handleRegisterPasskeyFinish serves POST /auth/passkeys/register/finish
// (bearer; {ceremony, credential, name?}): {id, name, createdAt}.
func handleRegisterPasskeyFinish(ew errorWriter, svc *auth.Service, maxBody int64) http.Handler {
	return authenticated(ew, svc, func(w http.ResponseWriter, r *http.Request, c *auth.Caller) error {
		f, err := passkeyFinish(w, r, maxBody)
		if err != nil {
			return err
		}
		p, err := svc.FinishPasskeyRegistration(r.Context(), c, f)
		if err != nil {
			return err
		}
		encode(w, http.StatusOK, struct {
			ID        string `json:"id"`
			Name      string `json:"name"`
			CreatedAt string `json:"createdAt"`
		}{p.ID, p.Name, isoMillis(p.CreatedAt)})
		return nil
	})
}

// handlePasskeyLoginBegin serves POST /auth/passkeys/login/begin (no body):
// {ceremony, publicKey: request options}.
func handlePasskeyLoginBegin(ew errorWriter, svc *auth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		start, err := svc.BeginPasskeyLogin(r.Context())
		if err != nil {
			ew.write(w, r, err)
			return
		}
		encode(w, http.StatusOK, ceremonyStart{start.Ceremony, start.Options})
	})
}

// handlePasskeyLoginFinish serves POST /auth/passkeys/login/finish
// ({ceremony, credential}): TokensDetails of a new session.
func handlePasskeyLoginFinish(ew errorWriter, svc *auth.Service, maxBody int64) http.Handler {
	return tokenEndpoint(ew, func(w http.ResponseWriter, r *http.Request) (auth.Tokens, error) {
		f, err := passkeyFinish(w, r, maxBody)
		if err != nil {
			return auth.Tokens{}, err
		}
		return svc.FinishPasskeyLogin(r.Context(), f, client(r))
	})
}

// handlePasskeys serves GET /auth/passkeys (bearer): the caller's passkeys,
// oldest first.
func handlePasskeys(ew errorWriter, svc *auth.Service) http.Handler {
	return authenticated(ew, svc, func(w http.ResponseWriter, r *http.Request, c *auth.Caller) error {
		list, err := svc.Passkeys(r.Context(), c)
		if err != nil {
			return err
		}
		out := make([]passkeyView, 0, len(list))
		for i := range list {
			out = append(out, viewPasskey(&list[i]))
		}
		encode(w, http.StatusOK, out)
		return nil
	})
}

// handleDeletePasskey serves DELETE /auth/passkeys/{id} (bearer): 200 {};
// 404 if the caller's user has no such passkey.
func handleDeletePasskey(ew errorWriter, svc *auth.Service) http.Handler {
	return authenticated(ew, svc, func(w http.ResponseWriter, r *http.Request, c *auth.Caller) error {
		if err := svc.DeletePasskey(r.Context(), c, r.PathValue("id")); err != nil {
			return err
		}
		encode(w, http.StatusOK, struct{}{})
		return nil
	})
}

// mfaVerifyRequest reads the body of POST /auth/mfa/verify: {mfa_token,
// code} in any of decode's media types, or {mfa_token, credential} in
// JSON, a credential being an object.
func mfaVerifyRequest(w http.ResponseWriter, r *http.Request, maxBody int64) (auth.MFAVerifyRequest, error) {
	media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if media != mediaJSON {
		f, err := decode(w, r, maxBody)
		if err != nil {
			return auth.MFAVerifyRequest{}, err
		}
		return auth.MFAVerifyRequest{MFAToken: f["mfa_token"], Code: f["code"]}, nil
	}
	m, err := rawMembers(w, r, maxBody)
	if err != nil {
		return auth.MFAVerifyRequest{}, err
	}
	var req auth.MFAVerifyRequest
	if v, ok := m["mfa_token"]; ok {
		req.MFAToken = jsonValue(v)
	}
	if v, ok := m["code"]; ok {
		req.Code = jsonValue(v)
	}
	if c := bytes.TrimSpace(m["credential"]); len(c) > 0 && c[0] == '{' {
		req.Credential = c
	}
	return req, nil
}

// handleMFAWebAuthnBegin serves POST /auth/mfa/webauthn/begin
// ({mfa_token}): {publicKey: request options} listing the user's passkeys;
// the assertion goes to POST /auth/mfa/verify with the same mfa_token.
func handleMFAWebAuthnBegin(ew errorWriter, svc *auth.Service, maxBody int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		m, err := rawMembers(w, r, maxBody)
		var opts json.RawMessage
		if err == nil {
			var tok auth.Value
			if v, ok := m["mfa_token"]; ok {
				tok = jsonValue(v)
			}
			opts, err = svc.BeginMFAWebAuthn(r.Context(), tok)
		}
		if err != nil {
			ew.write(w, r, err)
			return
		}
		encode(w, http.StatusOK, struct {
			PublicKey json.RawMessage `json:"publicKey"`
		}{opts})
	})
}
