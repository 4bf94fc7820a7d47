package httpapi

import (
	"net/http"

	"github.com/authstore/auth"
)

// accepted answers 202 {}: the request is taken, and what it causes (a
// mail) happens later, or not at all, unseen by the client.
func accepted(w http.ResponseWriter) {
	encode(w, http.StatusAccepted, struct{}{})
}

// handleChangePassword serves POST /auth/password (bearer;
// {currentPassword, newPassword}): 200 TokensDetails for the caller's
// session, every other session revoked.
func handleChangePassword(ew errorWriter, svc *auth.Service, maxBody int64) http.Handler {
	return authenticated(ew, svc, func(w http.ResponseWriter, r *http.Request, c *auth.Caller) error {
		f, err := decode(w, r, maxBody)
		if err != nil {
			return err
		}
		t, err := svc.ChangePassword(r.Context(), c, auth.ChangePasswordRequest{
			CurrentPassword: f["currentPassword"], NewPassword: f["newPassword"],
		}, client(r))
		if err != nil {
			return err
		}
		writeTokens(w, t)
		return nil
	})
}

// handleForgotPassword serves POST /auth/password/forgot ({email} or
// {login}): 202 {} whether or not an account holds it.
func handleForgotPassword(ew errorWriter, svc *auth.Service, maxBody int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		f, err := decode(w, r, maxBody)
		if err == nil {
			err = svc.ForgotPassword(r.Context(), auth.ForgotRequest{Email: f["email"], Login: f["login"]}, client(r))
		}
		if err != nil {
			ew.write(w, r, err)
			return
		}
		accepted(w)
	})
}

// handleResetPassword serves POST /auth/password/reset ({token,
// newPassword}): 200 TokensDetails of a new session, or, for an account with
// a second factor, the MfaChallenge a signin answers.
func handleResetPassword(ew errorWriter, svc *auth.Service, sus *suspects, maxBody int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		f, err := decode(w, r, maxBody)
		var res auth.SigninResult
		if err == nil {
			res, err = svc.ResetPassword(r.Context(), auth.ResetRequest{Token: f["token"], NewPassword: f["newPassword"]}, checkClient(r, sus))
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

// handleVerifyEmail serves POST /auth/email/verify ({token}): 200 {} once
// the address is verified, or changed.
func handleVerifyEmail(ew errorWriter, svc *auth.Service, maxBody int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		f, err := decode(w, r, maxBody)
		if err == nil {
			err = svc.VerifyEmail(r.Context(), f["token"])
		}
		if err != nil {
			ew.write(w, r, err)
			return
		}
		encode(w, http.StatusOK, struct{}{})
	})
}

// handleResendVerification serves POST /auth/email/verify/resend (bearer):
// 202 {}.
func handleResendVerification(ew errorWriter, svc *auth.Service) http.Handler {
	return authenticated(ew, svc, func(w http.ResponseWriter, r *http.Request, c *auth.Caller) error {
		if err := svc.ResendVerification(r.Context(), c, client(r)); err != nil {
			return err
		}
		accepted(w)
		return nil
	})
}

// handleChangeEmail serves POST /auth/email (bearer; {newEmail,
// password}): 202 {}; the change happens when the mailed link is followed.
func handleChangeEmail(ew errorWriter, svc *auth.Service, maxBody int64) http.Handler {
	return authenticated(ew, svc, func(w http.ResponseWriter, r *http.Request, c *auth.Caller) error {
		f, err := decode(w, r, maxBody)
		if err != nil {
			return err
		}
		if err := svc.ChangeEmail(r.Context(), c, auth.ChangeEmailRequest{NewEmail: f["newEmail"], Password: f["password"]}, client(r)); err != nil {
			return err
		}
		accepted(w)
		return nil
	})
}
