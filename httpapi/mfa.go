package httpapi

import (
	"net/http"

	"github.com/authstore/auth"
)

// writeChallenge answers 200 MfaChallenge: the signin needs a second factor.
func writeChallenge(w http.ResponseWriter, c *auth.Challenge) {
	type mfaChallenge struct {
		MFAToken string   `json:"mfa_token"`
		Methods  []string `json:"methods"`
	}
	encode(w, http.StatusOK, mfaChallenge{MFAToken: c.MFAToken, Methods: c.Methods})
}

// writeRecoveryCodes answers 200 RecoveryCodes.
func writeRecoveryCodes(w http.ResponseWriter, codes []string) {
	type recoveryCodes struct {
		RecoveryCodes []string `json:"recoveryCodes"`
	}
	encode(w, http.StatusOK, recoveryCodes{RecoveryCodes: codes})
}

// handleEnrollTOTP serves POST /auth/mfa/totp (bearer): 200 TotpEnrollment
// {secret, otpauthUrl} of a pending authenticator.
func handleEnrollTOTP(ew errorWriter, svc *auth.Service) http.Handler {
	return authenticated(ew, svc, func(w http.ResponseWriter, r *http.Request, c *auth.Caller) error {
		e, err := svc.EnrollTOTP(r.Context(), c, client(r))
		if err != nil {
			return err
		}
		type totpEnrollment struct {
			Secret     string `json:"secret"`
			OtpauthURL string `json:"otpauthUrl"`
		}
		encode(w, http.StatusOK, totpEnrollment{Secret: e.Secret, OtpauthURL: e.URL})
		return nil
	})
}

// handleConfirmTOTP serves POST /auth/mfa/totp/confirm (bearer; {code}):
// 200 RecoveryCodes once the authenticator is active.
func handleConfirmTOTP(ew errorWriter, svc *auth.Service, maxBody int64) http.Handler {
	return authenticated(ew, svc, func(w http.ResponseWriter, r *http.Request, c *auth.Caller) error {
		f, err := decode(w, r, maxBody)
		if err != nil {
			return err
		}
		codes, err := svc.ConfirmTOTP(r.Context(), c, f["code"], client(r))
		if err != nil {
			return err
		}
		writeRecoveryCodes(w, codes)
		return nil
	})
}

// handleDisableTOTP serves DELETE /auth/mfa/totp (bearer; {code}, a TOTP
// or recovery code): 200 {}.
func handleDisableTOTP(ew errorWriter, svc *auth.Service, maxBody int64) http.Handler {
	return authenticated(ew, svc, func(w http.ResponseWriter, r *http.Request, c *auth.Caller) error {
		f, err := decode(w, r, maxBody)
		if err != nil {
			return err
		}
		if err := svc.DisableTOTP(r.Context(), c, f["code"], client(r)); err != nil {
			return err
		}
		encode(w, http.StatusOK, struct{}{})
		return nil
	})
}

// handleRegenerateRecoveryCodes serves POST /auth/mfa/recovery-codes
// (bearer; {code}, a TOTP code): 200 RecoveryCodes, replacing the old ones.
func handleRegenerateRecoveryCodes(ew errorWriter, svc *auth.Service, maxBody int64) http.Handler {
	return authenticated(ew, svc, func(w http.ResponseWriter, r *http.Request, c *auth.Caller) error {
		f, err := decode(w, r, maxBody)
		if err != nil {
			return err
		}
		codes, err := svc.RegenerateRecoveryCodes(r.Context(), c, f["code"], client(r))
		if err != nil {
			return err
		}
		writeRecoveryCodes(w, codes)
		return nil
	})
}

// handleVerifyMFA serves POST /auth/mfa/verify ({mfa_token, code}): 200
// TokensDetails of a new session. A throttled attempt makes its source
// suspect, as a throttled signin does.
func handleVerifyMFA(ew errorWriter, svc *auth.Service, sus *suspects, maxBody int64) http.Handler {
	return tokenEndpoint(ew, func(w http.ResponseWriter, r *http.Request) (auth.Tokens, error) {
		req, err := mfaVerifyRequest(w, r, maxBody)
		if err != nil {
			return auth.Tokens{}, err
		}
		t, err := svc.VerifyMFA(r.Context(), req, client(r))
		if auth.IsKind(err, auth.KindTooManyRequests) {
			sus.mark(clientIPFrom(r))
		}
		return t, err
	})
}
