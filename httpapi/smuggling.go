package httpapi

import "net/http"

// closeAfterTransferEncoding answers a request that came with a
// Transfer-Encoding with "Connection: close", so the server closes the
// connection after the response.
//
// RFC 9112 section 6.1: a server that receives both Transfer-Encoding and
// Content-Length must close the connection after responding, since a
// front end that framed the message by Content-Length may have left bytes
// on the connection that this server reads as the next request (request
// smuggling). net/http deletes the Content-Length header of such a request
// before any handler runs, so the combination cannot be told apart from a
// plain chunked body here; every request with a Transfer-Encoding is
// therefore treated as suspect. Browsers and the clients of this API send
// Content-Length, so the cost is a new connection for the rare chunked one.
func closeAfterTransferEncoding(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TransferEncoding) > 0 {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}
