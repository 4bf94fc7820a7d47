package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/authstore/auth"
)

// encode writes v as a JSON response with status. A value that cannot be
// encoded is a programming error; it is answered with an empty 500.
func encode(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"statusCode":500,"message":"Internal server error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// fields are the top-level fields of a request body, each reported by the
// type it arrived as. A field that is absent reads as the zero auth.Value,
// whose Type is auth.ValueMissing.
type fields map[string]auth.Value

// The media types decode understands.
const (
	mediaJSON      = "application/json"
	mediaForm      = "application/x-www-form-urlencoded"
	mediaMultipart = "multipart/form-data"
)

// decode reads the fields of r's body, which may be JSON (an object),
// urlencoded or multipart form data (fields only). A missing or other
// Content-Type yields no fields, so that validation answers. It reads at most
// limit bytes: a larger body is a 413. A body it cannot parse is a 400. Both
// come back as *httpError.
func decode(w http.ResponseWriter, r *http.Request, limit int64) (fields, error) {
	media, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return fields{}, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	var f fields
	switch media {
	case mediaJSON:
		f, err = decodeJSON(r.Body)
	case mediaForm:
		f, err = decodeForm(r.Body)
	case mediaMultipart:
		f, err = decodeMultipart(r.Body, params["boundary"])
	default:
		return fields{}, nil
	}
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return nil, &httpError{status: http.StatusRequestEntityTooLarge, message: "Payload too large"}
	}
	return f, err
}

// readAll reads body whole. The body limit's error is kept for decode to
// recognise; any other read failure (a truncated upload) is a 400.
func readAll(body io.Reader) ([]byte, error) {
	b, err := io.ReadAll(body)
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return nil, err
	}
	if err != nil {
		return nil, badRequest("Could not read request body")
	}
	return b, nil
}

func badRequest(msg string) *httpError {
	return &httpError{status: http.StatusBadRequest, message: msg}
}

// decodeJSON reads a JSON object. Duplicate keys: the last wins. An empty
// body is an object without fields, as body-parser has it.
func decodeJSON(body io.Reader) (fields, error) {
	b, err := readAll(body)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return fields{}, nil
	}
	// One Decoder both parses the object and tells where it ended, so
	// trailing data is reported at its first byte.
	dec := json.NewDecoder(bytes.NewReader(b))
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, badRequest(fmt.Sprintf("Unexpected token in JSON at position %d", max(se.Offset-1, 0)))
		case errors.As(err, &te):
			return nil, badRequest("Request body must be a JSON object")
		}
		return nil, badRequest("Unexpected end of JSON input")
	}
	if rest := bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, badRequest(fmt.Sprintf("Unexpected token in JSON at position %d", len(b)-len(rest)))
	}
	if raw == nil { // the body was the literal null
		return nil, badRequest("Request body must be a JSON object")
	}
	f := make(fields, len(raw))
	for k, v := range raw {
		f[k] = jsonValue(v)
	}
	return f, nil
}

// jsonValue classifies one syntactically valid JSON value. Strings are
// decoded; invalid UTF-8 in them becomes U+FFFD.
func jsonValue(v json.RawMessage) auth.Value {
	v = bytes.TrimSpace(v)
	switch v[0] {
	case 'n':
		return auth.Value{Type: auth.ValueNull}
	case 't', 'f':
		return auth.Value{Type: auth.ValueBool}
	case '[':
		return auth.Value{Type: auth.ValueArray}
	case '{':
		return auth.Value{Type: auth.ValueObject}
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return auth.Value{Type: auth.ValueObject} // unreachable: v was validated
		}
		return auth.String(s)
	}
	return auth.Value{Type: auth.ValueNumber}
}

// decodeForm reads an urlencoded body. A repeated field is an array.
func decodeForm(body io.Reader) (fields, error) {
	b, err := readAll(body)
	if err != nil {
		return nil, err
	}
	vals, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, badRequest("Malformed form body")
	}
	f := make(fields, len(vals))
	for k, vs := range vals {
		f[k] = formValue(vs)
	}
	return f, nil
}

// formValue is the Value of a form field's values. Invalid UTF-8 becomes
// U+FFFD, as a JSON decoder makes it, so every body type stores valid text.
func formValue(vs []string) auth.Value {
	if len(vs) == 1 {
		return auth.String(strings.ToValidUTF8(vs[0], "\uFFFD"))
	}
	return auth.Value{Type: auth.ValueArray}
}

// decodeMultipart reads multipart form fields. A file part is refused with
// multer's "Unexpected field"; a repeated field is an array.
func decodeMultipart(body io.Reader, boundary string) (fields, error) {
	if boundary == "" {
		return nil, badRequest("Multipart: Boundary not found")
	}
	mr := multipart.NewReader(body, boundary)
	vals := map[string][]string{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, multipartError(err)
		}
		if isFilePart(p) {
			return nil, badRequest("Unexpected field")
		}
		name := p.FormName()
		b, err := readAll(p)
		if err != nil {
			return nil, multipartError(err)
		}
		if name != "" {
			vals[name] = append(vals[name], string(b))
		}
	}
	f := make(fields, len(vals))
	for k, vs := range vals {
		f[k] = formValue(vs)
	}
	return f, nil
}

// isFilePart reports whether p is a file upload: its Content-Disposition
// has a filename parameter, even an empty one (as multer judges it).
func isFilePart(p *multipart.Part) bool {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	_, hasName := params["filename"]
	return err == nil && hasName
}

// multipartError keeps a body-limit error recognisable and turns any other
// failure into a 400.
func multipartError(err error) error {
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return err
	}
	return badRequest("Malformed multipart body")
}
