package notify

import (
	"bufio"
	"context"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"
)

func TestRedactURLPathTokens(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdEFGHijklMNOPqrstUVWX", "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/redacted"},
		{"https://hooks.slack.com/services/T0123ABCD/B0456EFGH/short", "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/redacted"},
		{"https://discord.com/api/webhooks/1234567890/tokEN-with_parts", "https://discord.com/api/webhooks/1234567890/redacted"},
		{"https://chat.example.com/hooks/xyz", "https://chat.example.com/hooks/redacted"},
		{"https://hooks.example.com/a/8f14e45fceea167a5a36dedd4bea2543/b", "https://hooks.example.com/a/redacted/b"},
		{"https://u:p@hooks.example.com/notify?token=abc", "https://redacted@hooks.example.com/notify?token=redacted"},
		{"https://hooks.example.com/claimdrift-notifications", "https://hooks.example.com/claimdrift-notifications"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	r := Recipient{Channel: ChannelWebhook, Address: tests[0].in}
	if strings.Contains(r.Target(), "abcdEFGH") {
		t.Errorf("Target() = %q shows the token", r.Target())
	}
}

// TestEmailErrorScrubbed: a server that echoes the AUTH command in its
// refusal (some do) must not put the base64 credentials into the error
// the outbox records.
func TestEmailErrorScrubbed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		rd := bufio.NewReader(c)
		w := func(s string) { _, _ = c.Write([]byte(s + "\r\n")) }
		w("220 echo.example ESMTP")
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			switch {
			case strings.HasPrefix(line, "EHLO"):
				w("250-echo.example")
				w("250 AUTH PLAIN LOGIN")
			case strings.HasPrefix(line, "AUTH"):
				w("535 5.7.8 Authentication credentials invalid: " + line + " (decoded " + base64.StdEncoding.EncodeToString([]byte("hunter2-pw")) + ")")
			case line == "QUIT":
				w("221 bye")
				return
			default:
				w("250 ok")
			}
		}
	}()
	tr, err := NewEmailTransport(SMTPOptions{Addr: ln.Addr().String(), From: "cd@example.com", Username: "alice", Password: "hunter2-pw", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = tr.Deliver(context.Background(), emailTo("ops@example.com"), NewMessage(sample(), "r1"))
	if err == nil {
		t.Fatal("delivery succeeded against a refusing server")
	}
	msg := err.Error()
	plain := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00hunter2-pw"))
	for _, leak := range []string{"hunter2-pw", plain, base64.StdEncoding.EncodeToString([]byte("hunter2-pw"))} {
		if strings.Contains(msg, leak) {
			t.Errorf("error %q leaks %q", msg, leak)
		}
	}
	if !strings.Contains(msg, "535") || !IsPermanent(err) {
		t.Errorf("error %q lost its SMTP code or permanence", msg)
	}
}
