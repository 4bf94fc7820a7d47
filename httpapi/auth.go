package httpapi

import (
	"net/http"

	"github.com/authstore/auth"
)

// writeTokens answers 200 TokensDetails.
func writeTokens(w http.ResponseWriter, t auth.Tokens) {
	if !jsonPlain(t.AccessToken) || !jsonPlain(t.RefreshToken) {
		type tokensDetails struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		encode(w, http.StatusOK, tokensDetails{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken})
		return
	}
	// The answer to every signin and refresh, written without reflection:
	// both tokens are base64url and dots, which JSON writes as they are.
	const a, r, end = `{"access_token":"`, `","refresh_token":"`, `"}`
	b := make([]byte, 0, len(a)+len(t.AccessToken)+len(r)+len(t.RefreshToken)+len(end))
	b = append(append(append(append(append(b, a...), t.AccessToken...), r...), t.RefreshToken...), end...)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// jsonPlain reports whether s is written in JSON exactly as it is, between
// quotes, by encoding/json: printable ASCII without '"', '\\', '<', '>' or '&'.
func jsonPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// noStore marks a response that may carry credentials as uncacheable.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// client describes the sender of r for its session record. The IP is the
// one the rate limits count (see clientIP); empty if RemoteAddr is not an
// address.
func client(r *http.Request) auth.Client {
	c := auth.Client{UserAgent: r.UserAgent()}
	if ip := clientIPFrom(r); ip.IsValid() {
		c.IP = ip.String()
	}
	return c
}

// checkClient is client(r) for a signup or signin, marked Suspect when its
// source is one of sus.
func checkClient(r *http.Request, sus *suspects) auth.Client {
	c := client(r)
	c.Suspect = sus.has(clientIPFrom(r))
	return c
}

// tokenEndpoint serves an endpoint that answers TokensDetails: issue reads
// the request and calls the service; its error is answered in the error shape.
func tokenEndpoint(ew errorWriter, issue func(w http.ResponseWriter, r *http.Request) (auth.Tokens, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		t, err := issue(w, r)
		if err != nil {
			ew.write(w, r, err)
			return
		}
		writeTokens(w, t)
	})
}

// handleSignup serves POST /auth/signup with a CreateUserDto body. A signup
// from a suspect source reaches the service marked as such.
func handleSignup(ew errorWriter, svc *auth.Service, sus *suspects, maxBody int64) http.Handler {
	return tokenEndpoint(ew, func(w http.ResponseWriter, r *http.Request) (auth.Tokens, error) {
		f, err := decode(w, r, maxBody)
		if err != nil {
			return auth.Tokens{}, err
		}
		return svc.Signup(r.Context(), auth.SignupRequest{
			FirstName: f["firstName"],
			LastName:  f["lastName"],
			Login:     f["login"],
			Email:     f["email"],
			Password:  f["password"],
		}, checkClient(r, sus))
	})
}

// handleSignin serves POST /auth/signin with a LoginDto body: 200
// TokensDetails or, for an account with a second factor, 200 MfaChallenge.
// A signin from a suspect source reaches the service marked as such; a
// failed or throttled one (see failedSignin) makes its source suspect
// before it is answered.
func handleSignin(ew errorWriter, svc *auth.Service, sus *suspects, maxBody int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		f, err := decode(w, r, maxBody)
		var res auth.SigninResult
		if err == nil {
			res, err = svc.Signin(r.Context(), auth.SigninRequest{Login: f["login"], Password: f["password"]}, checkClient(r, sus))
			if failedSignin(err) {
				sus.mark(clientIPFrom(r))
			}
		}
		switch {
		case err != nil:
			ew.write(w, r, err)
		case res.Challenge != nil:
			writeChallenge(w, res.Challenge)
		default:
			writeTokens(w, res.Tokens)
		}
	})
}

// handleRefresh serves POST /auth/refresh. The token comes from the query
// parameter rt or, when rt is absent, from a refresh_token body field. A
// repeated rt ("rt=a&rt=b", "rt[]=a", "rt[k]=a"), or a refresh_token that
// is not a string, is an invalid token;
// an absent or null one is empty.
func handleRefresh(ew errorWriter, svc *auth.Service, maxBody int64) http.Handler {
	return tokenEndpoint(ew, func(w http.ResponseWriter, r *http.Request) (auth.Tokens, error) {
		rt, err := refreshToken(w, r, maxBody)
		if err != nil {
			return auth.Tokens{}, err
		}
		return svc.Refresh(r.Context(), rt, client(r))
	})
}

// refreshToken extracts the presented refresh token of a refresh request.
func refreshToken(w http.ResponseWriter, r *http.Request, maxBody int64) (string, error) {
	// The query string as Express's query parser (qs) reads it: an rt
	// with a malformed escape is kept as written, and so is invalid.
	if rt, ok := parseQS(r.URL.RawQuery, queryQS)["rt"]; ok {
		if rt.kind != auth.ValueString {
			return "", auth.ErrInvalidToken
		}
		return rt.str, nil
	}
	f, err := decode(w, r, maxBody)
	if err != nil {
		return "", err
	}
	switch v := f["refresh_token"]; v.Type {
	case auth.ValueString:
		return v.Str, nil
	case auth.ValueMissing, auth.ValueNull:
		return "", nil
	}
	return "", auth.ErrInvalidToken
}
