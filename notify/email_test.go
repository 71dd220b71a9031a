package notify

import (
	"context"
	"crypto/tls"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/claimdrift/claimdrift/notify/smtptest"
)

func emailTo(addr string) Recipient {
	return Recipient{ID: uuid.New(), Channel: ChannelEmail, Address: addr}
}

func TestEmailPlain(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	et, err := NewEmailTransport(SMTPOptions{Addr: srv.Addr, From: "claimdrift@example.com", Now: func() time.Time { return time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMessage(sample(), uuid.NewString())
	if err := et.Deliver(context.Background(), emailTo("ops@example.com"), m); err != nil {
		t.Fatal(err)
	}
	mails := srv.Mails(t)
	if len(mails) != 1 {
		t.Fatalf("%d mails, want 1", len(mails))
	}
	got := mails[0]
	if got.From != "claimdrift@example.com" || len(got.To) != 1 || got.To[0] != "ops@example.com" || got.TLS || got.Authenticated {
		t.Fatalf("envelope = %+v", got)
	}
	head, body, _ := strings.Cut(strings.ReplaceAll(got.Data, "\r\n", "\n"), "\n\n")
	parsed, err := mail.ReadMessage(strings.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	if err != nil || subject != sample().Title() {
		t.Errorf("subject = %q, %v, want the title", subject, err)
	}
	for _, want := range []string{"Message-ID: <" + m.DedupKey + "@claimdrift.invalid>",
		HeaderDedupKey + ": " + m.DedupKey, "Date: Mon, 02 Mar 2026 10:00:00 +0000", "Content-Transfer-Encoding: quoted-printable"} {
		if !strings.Contains(head, want) {
			t.Errorf("headers lack %q:\n%s", want, head)
		}
	}
	text, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "ignore_changes = [env, name]") || !strings.Contains(string(text), "(sensitive value)") {
		t.Errorf("body lacks the fix or the masked value:\n%s", text)
	}
}

func TestEmailStartTLSAndAuth(t *testing.T) {
	cert, key, pool := smtptest.SelfSignedCert(t)
	const password = "smtp-pass-PLANTED"
	srv := smtptest.Start(t, smtptest.Options{CertFile: cert, KeyFile: key, Username: "claimdrift", Password: password})
	opts := SMTPOptions{Addr: srv.Addr, From: "claimdrift@example.com", Username: "claimdrift", Password: password,
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}
	et, err := NewEmailTransport(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := et.Deliver(context.Background(), emailTo("ops@example.com"), NewMessage(sample(), "r")); err != nil {
		t.Fatal(err)
	}
	mails := srv.Mails(t)
	if len(mails) != 1 || !mails[0].TLS || !mails[0].Authenticated {
		t.Fatalf("mails = %+v, want one sent over STARTTLS, authenticated", mails)
	}
	if strings.Contains(mails[0].Data, password) {
		t.Error("the mail carries the SMTP password")
	}

	t.Run("wrong password", func(t *testing.T) {
		bad := opts
		bad.Password = "wrong"
		et, _ := NewEmailTransport(bad)
		err := et.Deliver(context.Background(), emailTo("ops@example.com"), NewMessage(sample(), "r"))
		if err == nil || !IsPermanent(err) {
			t.Fatalf("Deliver = %v, want a permanent auth failure", err)
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Errorf("error shows the password: %v", err)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		untrusted := opts
		untrusted.TLSConfig = nil
		et, _ := NewEmailTransport(untrusted)
		if err := et.Deliver(context.Background(), emailTo("ops@example.com"), NewMessage(sample(), "r")); err == nil {
			t.Fatal("delivered over a certificate nobody trusts")
		}
	})
}

func TestEmailErrors(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	et, _ := NewEmailTransport(SMTPOptions{Addr: srv.Addr, From: "claimdrift@example.com"})
	tests := []struct {
		name, to      string
		wantPermanent bool
	}{
		{"550 is permanent", "reject@example.com", true},
		{"451 is retryable", "tempfail@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := et.Deliver(context.Background(), emailTo(tt.to), NewMessage(sample(), "r"))
			if err == nil || IsPermanent(err) != tt.wantPermanent {
				t.Fatalf("Deliver = %v, want permanent %v", err, tt.wantPermanent)
			}
		})
	}
	t.Run("TLS required but not offered", func(t *testing.T) {
		et, _ := NewEmailTransport(SMTPOptions{Addr: srv.Addr, From: "claimdrift@example.com", RequireTLS: true})
		if err := et.Deliver(context.Background(), emailTo("ops@example.com"), NewMessage(sample(), "r")); err == nil || !IsPermanent(err) {
			t.Fatalf("Deliver = %v, want a permanent refusal", err)
		}
	})
	t.Run("server down is retryable", func(t *testing.T) {
		et, _ := NewEmailTransport(SMTPOptions{Addr: "127.0.0.1:1", From: "claimdrift@example.com"})
		if err := et.Deliver(context.Background(), emailTo("ops@example.com"), NewMessage(sample(), "r")); err == nil || IsPermanent(err) {
			t.Fatalf("Deliver = %v, want retryable", err)
		}
	})
}
