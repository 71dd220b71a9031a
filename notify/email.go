package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
)

// SMTPOptions configure an EmailTransport.
type SMTPOptions struct {
	// Addr is the server's host:port.
	Addr string
	// From is the envelope and header sender address.
	From string
	// Username and Password enable AUTH PLAIN (net/smtp refuses it on an
	// unencrypted connection to a host other than localhost).
	Username string
	Password Secret
	// TLSConfig is used for STARTTLS (default: verify the server name).
	TLSConfig *tls.Config
	// RequireTLS fails delivery when the server offers no STARTTLS.
	RequireTLS bool
	// Timeout bounds one delivery (default 30s).
	Timeout time.Duration
	// HelloName is sent in EHLO (default "localhost").
	HelloName string
	// Now is the clock for the Date header (default time.Now).
	Now func() time.Time
}

// EmailTransport sends messages over SMTP: STARTTLS when the server offers
// it, AUTH when a username is configured.
type EmailTransport struct {
	opts SMTPOptions
}

// NewEmailTransport returns an email transport with defaults filled in.
func NewEmailTransport(opts SMTPOptions) (*EmailTransport, error) {
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("smtp server %q: want host:port", opts.Addr)
	}
	if opts.From == "" {
		return nil, errors.New("smtp: a sender address is required")
	}
	if opts.TLSConfig == nil {
		opts.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.HelloName == "" {
		opts.HelloName = "localhost"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &EmailTransport{opts: opts}, nil
}

// Deliver mails m to r. SMTP 5xx answers are permanent, 4xx and network
// errors retryable.
func (e *EmailTransport) Deliver(ctx context.Context, r Recipient, m Message) error {
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	err := e.send(ctx, r.Address, m)
	if err == nil {
		return nil
	}
	// The server's answer may echo what it was sent (the AUTH line with
	// the base64 credentials): the recorded error never carries it.
	err = &scrubbedError{msg: "smtp " + e.opts.Addr + ": " + scrubSMTP(err.Error(), e.opts.Username, e.opts.Password.Reveal()), err: err}
	var tp *textproto.Error
	if errors.As(err, &tp) && tp.Code >= 500 {
		return Permanent(err)
	}
	return err
}

func (e *EmailTransport) send(ctx context.Context, to string, m Message) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.opts.Addr)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	host, _, _ := net.SplitHostPort(e.opts.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello(e.opts.HelloName); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(e.opts.TLSConfig); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	} else if e.opts.RequireTLS {
		return Permanent(errors.New("server offers no STARTTLS and TLS is required"))
	}
	if e.opts.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return Permanent(errors.New("server offers no AUTH but a username is configured"))
		}
		if err := c.Auth(smtp.PlainAuth("", e.opts.Username, e.opts.Password.Reveal(), host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(e.opts.From); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(e.compose(to, m)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// compose builds the RFC 5322 message: plain text, quoted-printable, a
// Message-ID derived from the dedup key so mail systems drop repeats.
func (e *EmailTransport) compose(to string, m Message) []byte {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", e.opts.From)
	h("To", to)
	h("Subject", mime.QEncoding.Encode("utf-8", strings.ReplaceAll(m.Notification.Title(), "\n", " ")))
	h("Date", e.opts.Now().Format(time.RFC1123Z))
	h("Message-ID", "<"+m.DedupKey+"@claimdrift.invalid>")
	h(HeaderDedupKey, m.DedupKey)
	h(HeaderEvent, string(m.Notification.Kind))
	h("MIME-Version", "1.0")
	h("Content-Type", `text/plain; charset="utf-8"`)
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(m.Notification.Text(), "\n", "\r\n")))
	_ = qp.Close()
	b.WriteString("\r\n")
	return b.Bytes()
}
