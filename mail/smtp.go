package mail

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// STARTTLS policies of an smtp:// URL (its starttls option).
const (
	// StartTLSOpportunistic upgrades the connection when the server
	// offers STARTTLS and sends in clear otherwise: the default without
	// credentials, for a local relay.
	StartTLSOpportunistic = "opportunistic"
	// StartTLSRequired refuses a server that does not offer STARTTLS: the
	// default with credentials, so that no password crosses in clear.
	StartTLSRequired = "required"
	// StartTLSOff never upgrades, even when the server offers it.
	StartTLSOff = "off"
)

// SMTPOptions is where and how the SMTP transport connects. ParseSMTPURL
// makes one from --smtp-url.
type SMTPOptions struct {
	Host     string
	Port     int
	Username string // empty: no SMTP AUTH
	Password string // never logged, never in an error
	// ImplicitTLS is smtps://: TLS from the first byte (RFC 8314).
	ImplicitTLS bool
	// StartTLS is one of the StartTLS* policies; ignored with ImplicitTLS.
	StartTLS string
	// Auth names the SASL mechanism (go-mail's names: PLAIN, LOGIN,
	// CRAM-MD5, SCRAM-SHA-256, ...); empty picks the strongest the server
	// offers. Used only with a Username.
	Auth string
	// InsecureSkipVerify accepts any server certificate: for tests against
	// a self-signed server only.
	InsecureSkipVerify bool
	// Timeout bounds the connection and each command; 0 means 30s.
	Timeout time.Duration
}

// Server returns "host:port", the only form in which the server is logged.
func (o SMTPOptions) Server() string { return net.JoinHostPort(o.Host, strconv.Itoa(o.Port)) }

// ParseSMTPURL parses --smtp-url:
//
//	smtp://[user:pass@]host[:port][?option=value&...]   port 25 by default
//	smtps://[user:pass@]host[:port][?option=value&...]  implicit TLS, port 465 by default
//
// User and password are URL-encoded (a '@' in the password is %40).
// Options: starttls=opportunistic|required|off (smtp:// only; default
// required with a user, else opportunistic), auth=MECHANISM (default: the
// strongest the server offers), timeout=DURATION (default 30s),
// insecure_skip_verify=true (tests only: accepts any certificate).
// Errors never contain the password.
func ParseSMTPURL(raw string) (SMTPOptions, error) {
	var o SMTPOptions
	u, err := url.Parse(raw)
	if err != nil {
		// url's error quotes the whole URL, password included.
		return o, errors.New("not a URL: want smtp://[user:pass@]host[:port] or smtps://... (URL-encode special characters of the password)")
	}
	switch u.Scheme {
	case "smtp":
		o.Port = 25
	case "smtps":
		o.Port, o.ImplicitTLS = 465, true
	default:
		return o, fmt.Errorf("scheme %q is not smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return o, errors.New("want smtp://[user:pass@]host[:port] with no path")
	}
	if o.Host = u.Hostname(); o.Host == "" {
		return o, errors.New("no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return o, fmt.Errorf("port %q is not a number from 1 to 65535", p)
		}
		o.Port = n
	}
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
		if o.Username == "" {
			return o, errors.New("a password without a user")
		}
	}
	if err := o.parseQuery(u.RawQuery); err != nil {
		return o, err
	}
	return o, nil
}

// parseQuery sets the options of the URL's query.
func (o *SMTPOptions) parseQuery(raw string) error {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return errors.New("the options after ? are not a query string")
	}
	o.StartTLS = StartTLSOpportunistic
	if o.Username != "" {
		o.StartTLS = StartTLSRequired
	}
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "starttls":
			switch v {
			case StartTLSOpportunistic, StartTLSRequired, StartTLSOff:
			default:
				return fmt.Errorf("starttls=%q is not opportunistic, required or off", v)
			}
			if o.ImplicitTLS {
				return errors.New("starttls is for smtp://; smtps:// is TLS from the start")
			}
			o.StartTLS = v
		case "auth":
			var a gomail.SMTPAuthType
			if err := a.UnmarshalString(v); err != nil {
				return fmt.Errorf("auth=%q is not a SASL mechanism go-mail knows (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256, ...)", v)
			}
			o.Auth = v
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("timeout=%q is not a positive duration", v)
			}
			o.Timeout = d
		case "insecure_skip_verify":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("insecure_skip_verify=%q is not true or false", v)
			}
			o.InsecureSkipVerify = b
		default:
			return fmt.Errorf("unknown option %q (known: starttls, auth, timeout, insecure_skip_verify)", k)
		}
	}
	return nil
}

// ParseFrom checks --mail-from, an address with an optional display name
// ("Example <no-reply@example.com>"), and returns it as a header value.
func ParseFrom(from string) (*netmail.Address, error) {
	a, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("%q is not a mail address: %w", from, err)
	}
	return a, nil
}

// SMTP is a Transport to one SMTP server, through go-mail. It is safe for
// concurrent use; each Send opens one connection for its messages.
type SMTP struct {
	client *gomail.Client
	from   *netmail.Address
	server string
	redact *strings.Replacer
}

var _ Transport = (*SMTP)(nil)

// NewSMTP returns a transport to the server of o, sending from from (see
// ParseFrom). It connects to nothing until Send.
func NewSMTP(o SMTPOptions, from *netmail.Address) (*SMTP, error) {
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	opts := []gomail.Option{
		gomail.WithPort(o.Port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: o.Host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureSkipVerify}), //nolint:gosec // tests only, documented
		// Each message is sent right after the connection is opened or the
		// previous one accepted: a NOOP before each would only add a
		// round trip.
		gomail.WithoutNoop(),
	}
	switch {
	case o.ImplicitTLS:
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSPolicy(gomail.NoTLS))
	case o.StartTLS == StartTLSRequired:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case o.StartTLS == StartTLSOff:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if o.Username != "" {
		auth := gomail.SMTPAuthAutoDiscover
		if o.Auth != "" {
			if err := auth.UnmarshalString(o.Auth); err != nil {
				return nil, fmt.Errorf("mail: auth %q: unknown mechanism", o.Auth)
			}
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(o.Username), gomail.WithPassword(o.Password))
	}
	c, err := gomail.NewClient(o.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mail: smtp client for %s: %s", o.Server(), redactor(o).Replace(err.Error()))
	}
	return &SMTP{client: c, from: from, server: o.Server(), redact: redactor(o)}, nil
}

// redactor replaces the password of o, in the forms it can take on the
// wire or in a URL, with "[redacted]".
func redactor(o SMTPOptions) *strings.Replacer {
	if o.Password == "" {
		return strings.NewReplacer()
	}
	const r = "[redacted]"
	return strings.NewReplacer(
		o.Password, r,
		url.QueryEscape(o.Password), r,
		url.PathEscape(o.Password), r,
		base64.StdEncoding.EncodeToString([]byte(o.Password)), r,
		base64.StdEncoding.EncodeToString([]byte("\x00"+o.Username+"\x00"+o.Password)), r,
	)
}

// Server returns "host:port".
func (s *SMTP) Server() string { return s.server }

// Send implements Transport: one connection for msgs, then QUIT. A failure
// to connect, start TLS or authenticate is a transient error of every
// message.
func (s *SMTP) Send(ctx context.Context, msgs []Message) []error {
	errs := make([]error, len(msgs))
	if len(msgs) == 0 {
		return errs
	}
	conn, err := s.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		de := &DeliveryError{Msg: "connecting to " + s.server + ": " + s.redact.Replace(err.Error())}
		if ctx.Err() != nil {
			de.Msg += ": " + ErrNotAttempted.Error()
			for i := range errs {
				errs[i] = fmt.Errorf("%w: %w", ErrNotAttempted, de)
			}
			return errs
		}
		for i := range errs {
			errs[i] = de
		}
		return errs
	}
	defer s.client.CloseWithSMTPClient(conn)
	for i, m := range msgs {
		if ctx.Err() != nil {
			errs[i] = fmt.Errorf("%w: %w", ErrNotAttempted, ctx.Err())
			continue
		}
		gm, err := s.message(m)
		if err != nil {
			errs[i] = err
			continue
		}
		if err := s.client.SendWithSMTPClient(conn, gm); err != nil {
			errs[i] = s.classify(err)
		}
	}
	return errs
}

// message builds the go-mail message of m: multipart/alternative, plain
// text then HTML.
func (s *SMTP) message(m Message) (*gomail.Msg, error) {
	gm := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := gm.From(s.from.String()); err != nil {
		return nil, &DeliveryError{Permanent: true, Msg: "from address: " + err.Error()}
	}
	if err := gm.To(m.To); err != nil {
		return nil, &DeliveryError{Permanent: true, Msg: "recipient address refused: " + err.Error()}
	}
	gm.Subject(m.Subject)
	if m.ID != "" {
		gm.SetMessageIDWithValue(m.ID + "@" + domainOf(s.from.Address))
	}
	gm.SetDate()
	gm.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		gm.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return gm, nil
}

// classify turns a go-mail send error into a DeliveryError: 5xx replies and
// addresses go-mail refuses are permanent, everything else transient.
func (s *SMTP) classify(err error) *DeliveryError {
	de := &DeliveryError{Msg: s.redact.Replace(err.Error())}
	var se *gomail.SendError
	if errors.As(err, &se) {
		de.Code = se.ErrorCode()
		switch {
		case de.Code >= 500:
			de.Permanent = true
		case se.Reason == gomail.ErrGetSender || se.Reason == gomail.ErrGetRcpts || se.Reason == gomail.ErrNoUnencoded:
			de.Permanent = true
		}
	}
	return de
}

// domainOf returns the part of addr after its last '@'.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "authstore.invalid"
}
