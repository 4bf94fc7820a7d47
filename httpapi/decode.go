package httpapi

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/unicode"

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

// decode reads the fields of r's body as Express's body-parser (JSON and
// urlencoded) and multer (multipart, fields only) read them. A missing or
// other Content-Type yields no fields, so that validation answers. The body
// is inflated per Content-Encoding (gzip, deflate; another is a 415), and at
// most limit bytes of it, counted after inflation, are read: more is a 413.
// A body it cannot parse is a 400. All come back as *httpError.
func decode(w http.ResponseWriter, r *http.Request, limit int64) (fields, error) {
	media, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return fields{}, nil
	}
	charset := strings.ToLower(params["charset"])
	switch media {
	case mediaJSON:
		// RFC 7159 §8.1, as body-parser checks it.
		if charset != "" && !strings.HasPrefix(charset, "utf-") {
			return nil, unsupportedCharset(charset)
		}
	case mediaForm:
		if charset != "" && charset != "utf-8" {
			return nil, unsupportedCharset(charset)
		}
	case mediaMultipart:
	default:
		return fields{}, nil
	}
	body, err := contentReader(w, r, limit)
	if err != nil {
		return nil, err
	}
	var f fields
	switch media {
	case mediaJSON:
		f, err = decodeJSON(body, charset)
	case mediaForm:
		f, err = decodeForm(body)
	case mediaMultipart:
		f, err = decodeMultipart(body, params["boundary"])
	}
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return nil, &httpError{status: http.StatusRequestEntityTooLarge, message: "Payload too large"}
	}
	return f, err
}

func unsupportedCharset(charset string) *httpError {
	return &httpError{status: http.StatusUnsupportedMediaType, message: fmt.Sprintf("unsupported charset %q", strings.ToUpper(charset))}
}

// contentReader returns r's body decoded per its Content-Encoding (identity,
// gzip or deflate, named as one token in any case, as body-parser takes
// them), limited to limit bytes of decoded content and of raw input alike,
// so that a decompression bomb is a 413 after limit bytes of work.
func contentReader(w http.ResponseWriter, r *http.Request, limit int64) (io.Reader, error) {
	raw := http.MaxBytesReader(w, r.Body, limit)
	enc := strings.ToLower(r.Header.Get("Content-Encoding"))
	switch enc {
	case "", "identity":
		return raw, nil
	case "gzip", "deflate":
		return &inflater{raw: raw, gzip: enc == "gzip", limit: limit}, nil
	}
	return nil, &httpError{status: http.StatusUnsupportedMediaType, message: fmt.Sprintf("unsupported content encoding %q", enc)}
}

// inflater reads a gzip (RFC 1952) or zlib-wrapped deflate (RFC 1950)
// stream, as Node's zlib reads them for body-parser, opened on first read
// so that an empty body reads as empty. Past limit decoded bytes it fails
// with *http.MaxBytesError.
type inflater struct {
	raw   io.Reader
	gzip  bool
	limit int64
	dec   io.Reader
	n     int64
}

func (z *inflater) Read(p []byte) (int, error) {
	if z.dec == nil {
		var (
			rc  io.Reader
			err error
		)
		if z.gzip {
			rc, err = gzip.NewReader(z.raw)
		} else {
			rc, err = zlib.NewReader(z.raw)
		}
		if err != nil {
			return 0, inflateError(err)
		}
		z.dec = rc
	}
	n, err := z.dec.Read(p)
	z.n += int64(n)
	if z.n > z.limit {
		return n, &http.MaxBytesError{Limit: z.limit}
	}
	if err != nil && err != io.EOF {
		err = inflateError(err)
	}
	return n, err
}

// inflateError words a decoding failure as Node's zlib does; a body-limit
// error passes through.
func inflateError(err error) error {
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return badRequest("unexpected end of file")
	}
	return badRequest("incorrect header check")
}

// readAll reads body whole. The body limit's error and an *httpError are
// kept; any other read failure (a truncated upload) is a 400.
func readAll(body io.Reader) ([]byte, error) {
	b, err := io.ReadAll(body)
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return nil, err
	}
	if he := (*httpError)(nil); errors.As(err, &he) {
		return nil, err
	}
	if err != nil {
		return nil, badRequest("Could not read request body")
	}
	return b, nil
}

// readText reads body whole as UTF-8 text, as iconv-lite decodes it for
// body-parser: invalid bytes become U+FFFD and a leading byte order mark is
// dropped. The charset, if given, is "utf-16", "utf-16le" or "utf-16be"
// (decoded to UTF-8) or another "utf-*" taken as UTF-8's.
func readText(body io.Reader, charset string) (string, error) {
	b, err := readAll(body)
	if err != nil {
		return "", err
	}
	return text(b, charset)
}

// text is b decoded as readText decodes it.
func text(b []byte, charset string) (string, error) {
	var s string
	switch charset {
	case "utf-16", "utf-16le", "utf-16be":
		endian := unicode.LittleEndian
		if charset == "utf-16be" {
			endian = unicode.BigEndian
		}
		d, err := unicode.UTF16(endian, unicode.UseBOM).NewDecoder().Bytes(b)
		if err != nil {
			return "", badRequest("Could not read request body")
		}
		s = string(d)
	default:
		s = string(b)
	}
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // one U+FFFD per invalid byte
	}
	return strings.TrimPrefix(s, "\uFEFF"), nil
}

func badRequest(msg string) *httpError {
	return &httpError{status: http.StatusBadRequest, message: msg}
}

// decodeJSON reads a JSON body as body-parser's strict parser: it must be an
// object or an array, and an array has no fields (so validation answers
// every field). Duplicate keys: the last wins. An empty body is an object
// without fields.
func decodeJSON(body io.Reader, charset string) (fields, error) {
	text, err := readText(body, charset)
	if err != nil {
		return nil, err
	}
	if f, ok := flatStrings(text); ok {
		return f, nil
	}
	return parseJSON(text)
}

// parseJSON is decodeJSON's reading of text with encoding/json.
func parseJSON(text string) (fields, error) {
	b := []byte(text)
	trimmed := bytes.TrimLeft(b, " \t\r\n")
	if len(trimmed) == 0 {
		return fields{}, nil
	}
	if trimmed[0] != '{' && trimmed[0] != '[' {
		return nil, syntaxError(len(b) - len(trimmed))
	}
	// One Decoder both parses the value and tells where it ended, so
	// trailing data is reported at its first byte.
	dec := json.NewDecoder(bytes.NewReader(b))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		if se := (*json.SyntaxError)(nil); errors.As(err, &se) {
			return nil, syntaxError(int(max(se.Offset-1, 0)))
		}
		return nil, badRequest("Unexpected end of JSON input")
	}
	if rest := bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, syntaxError(len(b) - len(rest))
	}
	if trimmed[0] == '[' {
		return fields{}, nil
	}
	return jsonFields(raw), nil
}

// flatStrings reads the common body, an object whose members are all
// strings, when its keys and values are printable ASCII without escapes:
// {"login":"ada","password":"…"}, with JSON whitespace anywhere between
// tokens. It returns false for anything else, which the general path reads.
// What it returns is what that path would return for the same text (a key
// given twice keeps its last value, as JSON.parse does); it only skips the
// three passes of encoding/json over the body of nearly every request.
func flatStrings(text string) (fields, bool) {
	i := 0
	ws := func() {
		for i < len(text) && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n') {
			i++
		}
	}
	str := func() (string, bool) {
		if i >= len(text) || text[i] != '"' {
			return "", false
		}
		j := i + 1
		for ; j < len(text) && text[j] != '"'; j++ {
			if c := text[j]; c < 0x20 || c > 0x7e || c == '\\' {
				return "", false
			}
		}
		if j == len(text) {
			return "", false
		}
		v := text[i+1 : j]
		i = j + 1
		return v, true
	}
	ws()
	if i == len(text) || text[i] != '{' {
		return nil, false
	}
	i++
	f := make(fields, 4)
	ws()
	if i < len(text) && text[i] == '}' {
		i++
	} else {
		for {
			ws()
			k, ok := str()
			if !ok {
				return nil, false
			}
			ws()
			if i == len(text) || text[i] != ':' {
				return nil, false
			}
			i++
			ws()
			v, ok := str()
			if !ok {
				return nil, false
			}
			f[k] = auth.String(v)
			ws()
			if i == len(text) {
				return nil, false
			}
			if text[i] == '}' {
				i++
				break
			}
			if text[i] != ',' {
				return nil, false
			}
			i++
		}
	}
	ws()
	if i != len(text) {
		return nil, false
	}
	return f, true
}

func syntaxError(pos int) *httpError {
	return badRequest(fmt.Sprintf("Unexpected token in JSON at position %d", pos))
}

// jsonFields returns the members of a syntactically valid JSON object.
func jsonFields(obj json.RawMessage) fields {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(obj, &raw); err != nil {
		return fields{}
	}
	f := make(fields, len(raw))
	for k, v := range raw {
		f[k] = jsonValue(v)
	}
	return f
}

// jsonValue classifies one syntactically valid JSON value, keeping what
// validation needs: strings decoded (invalid UTF-8 in them becomes U+FFFD),
// numbers, an array's length, and an object's "length" member.
func jsonValue(v json.RawMessage) auth.Value {
	v = bytes.TrimSpace(v)
	switch v[0] {
	case 'n':
		return auth.Null()
	case 't', 'f':
		return auth.Bool(v[0] == 't')
	case '[':
		var elems []json.RawMessage
		json.Unmarshal(v, &elems)
		return auth.Array(len(elems))
	case '{':
		var members map[string]json.RawMessage
		json.Unmarshal(v, &members)
		if m, ok := members["length"]; ok {
			return auth.Object(auth.JSNumber(jsonValue(m)))
		}
		return auth.Object(auth.JSNumber(auth.Value{}))
	case '"':
		var s string
		json.Unmarshal(v, &s)
		return auth.String(s)
	}
	x, _ := strconv.ParseFloat(string(v), 64) // out of range: ±Inf, as JavaScript
	return auth.Number(x)
}

// decodeForm reads an urlencoded body as body-parser's extended parser (qs)
// reads it. More than 1000 pairs is a 413, as body-parser answers.
func decodeForm(body io.Reader) (fields, error) {
	s, err := readText(body, "")
	if err != nil {
		return nil, err
	}
	n := qsCount(s)
	if n > bodyQSParamLimit {
		return nil, &httpError{status: http.StatusRequestEntityTooLarge, message: "too many parameters"}
	}
	return qsFields(parseQS(s, bodyQS(n))), nil
}

func qsFields(m map[string]*qsNode) fields {
	f := make(fields, len(m))
	for k, v := range m {
		f[k] = v.value()
	}
	return f
}

// decodeMultipart reads multipart form fields as multer's none() reads
// them: a file part is refused with "Unexpected field - <name>"; a field
// name in brackets builds arrays and objects and a repeated field is an
// array, as with qs. Failures are worded as NestJS words busboy's.
func decodeMultipart(body io.Reader, boundary string) (fields, error) {
	if boundary == "" {
		return nil, badRequest("Multipart: Boundary not found")
	}
	mr := multipart.NewReader(body, boundary)
	var pairs []string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, multipartError(err)
		}
		name := p.FormName()
		if isFilePart(p) {
			return nil, badRequest("Unexpected field - " + name)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, multipartError(err)
		}
		v, _ := text(b, "")
		if name != "" {
			pairs = append(pairs, url.QueryEscape(name)+"="+url.QueryEscape(v))
		}
	}
	// multer's append-field nests "a[b]" as qs does; reading the fields
	// through the same parser keeps the two body types alike.
	s := strings.Join(pairs, "&")
	return qsFields(parseQS(s, bodyQS(len(pairs)))), nil
}

// isFilePart reports whether p is a file upload: its Content-Disposition
// has a filename parameter, even an empty one (as multer judges it).
func isFilePart(p *multipart.Part) bool {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	_, hasName := params["filename"]
	return err == nil && hasName
}

// multipartError keeps a body-limit error recognisable and words any other
// failure as NestJS words busboy's: a body that ends early is "Multipart:
// Unexpected end of form", a bad part header "Multipart: Malformed part
// header".
func multipartError(err error) error {
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return err
	}
	if he := (*httpError)(nil); errors.As(err, &he) {
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return badRequest("Multipart: Unexpected end of form")
	}
	return badRequest("Multipart: Malformed part header")
}
