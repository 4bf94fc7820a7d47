package httpapi

import "net/http"

// closeConnections answers with "Connection: close", so that the server
// closes the connection after the response, a request that came with a
// Transfer-Encoding, and every request while draining reports true.
//
// Transfer-Encoding: RFC 9112 section 6.1 says a server that receives both
// Transfer-Encoding and Content-Length must close the connection after
// responding, since a front end that framed the message by Content-Length
// may have left bytes on the connection that this server would read as the
// next request (request smuggling). net/http deletes the Content-Length
// header of such a request before any handler runs, so the combination
// cannot be told apart from a plain chunked body here: every request with
// a Transfer-Encoding is treated as suspect. Browsers and the clients of
// this API send Content-Length, so the cost is a new connection for the
// rare chunked one.
//
// Draining: during a graceful shutdown each keep-alive connection is closed
// by the server right after a response, never while a client may be
// sending on it, so no request meets a reset.
func closeConnections(draining func() bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TransferEncoding) > 0 || draining() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}
