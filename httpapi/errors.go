package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/authstore/auth"
)

// httpError is a failure the transport itself detects (an unknown route, a
// wrong method, a body it cannot read). Message is safe to show.
type httpError struct {
	status  int
	message string
	allow   string // the Allow header of a 405
}

func (e *httpError) Error() string { return e.message }

// statusOf is the one mapping of an auth.Kind to an HTTP status, with the
// Retry-After value (seconds, "" for none) the status carries.
func statusOf(k auth.Kind) (status int, retryAfter string) {
	switch k {
	case auth.KindInvalid, auth.KindConflict:
		return http.StatusBadRequest, ""
	case auth.KindUnauthorized:
		return http.StatusUnauthorized, ""
	case auth.KindForbidden:
		return http.StatusForbidden, ""
	case auth.KindNotFound:
		return http.StatusNotFound, ""
	case auth.KindBusy:
		return http.StatusServiceUnavailable, "1"
	case auth.KindUnavailable:
		return http.StatusServiceUnavailable, "5"
	case auth.KindTooManyRequests:
		return http.StatusTooManyRequests, "1"
	}
	return http.StatusInternalServerError, ""
}

// statusClientClosed marks a request whose client left before the answer.
const statusClientClosed = 499

// internalMessage is the only text a client sees of an internal error.
const internalMessage = "Internal server error"

// errorBody is the error shape of the original service. Message is a string,
// or a []string for validation errors.
type errorBody struct {
	StatusCode int    `json:"statusCode"`
	Message    any    `json:"message"`
	Timestamp  string `json:"timestamp"`
	Path       string `json:"path"`
}

// errorWriter answers errors in the original service's shape.
type errorWriter struct {
	logger *slog.Logger
	now    func() time.Time
	// outages logs the causes of 503 Database unavailable answers.
	outages *outageLog
}

// write answers err: an *httpError with its own status, an *auth.Error by its
// Kind, anything else as a 500 whose details go to the log only. The path in
// the body is the path as sent (sentPath), never the query.
func (ew errorWriter) write(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	if errors.As(err, &he) {
		if he.allow != "" {
			w.Header().Set("Allow", he.allow)
		}
		ew.send(w, r, he.status, he.message)
		return
	}
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		// The client went away while waiting (for a place, a hash, the
		// database): nobody reads this answer, and it is not a server
		// fault. 499 is the access log's and metrics' mark for it, as
		// nginx uses it.
		ew.send(w, r, statusClientClosed, "Client closed request")
		return
	}
	kind := auth.ErrorKind(err)
	status, retryAfter := statusOf(kind)
	if kind == auth.KindUnavailable && ew.outages != nil {
		ew.outages.record(r.Context(), err, r.URL.Path)
	}
	if ra := retryAfterOf(err); ra != "" && retryAfter != "" {
		retryAfter = ra
	}
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	if status == http.StatusInternalServerError {
		ew.logger.LogAttrs(r.Context(), slog.LevelError, "internal error",
			slog.String("request_id", requestIDFrom(r.Context())),
			slog.String("path", sentPath(r)),
			slog.String("error", err.Error()))
		ew.send(w, r, status, internalMessage)
		return
	}
	var ae *auth.Error
	errors.As(err, &ae) // non-nil: only *auth.Error has a non-internal Kind
	switch {
	case len(ae.Messages) > 0:
		ew.send(w, r, status, ae.Messages)
	case ae.Message != "":
		ew.send(w, r, status, ae.Message)
	default:
		ew.send(w, r, status, http.StatusText(status))
	}
}

// send writes the error body with status. message is a string or []string.
func (ew errorWriter) send(w http.ResponseWriter, r *http.Request, status int, message any) {
	encode(w, status, errorBody{
		StatusCode: status,
		Message:    message,
		Timestamp:  isoMillis(ew.now()),
		Path:       sentPath(r),
	})
}

// requestIDFrom returns the request id the middleware assigned, or "".
func requestIDFrom(ctx context.Context) string {
	if info := infoFrom(ctx); info != nil {
		return info.id
	}
	return ""
}
