package notify

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
)

// redacted replaces a hidden value.
const redacted = "redacted"

// redactPathTokens hides the parts of a webhook URL's path that are
// credentials: the last three segments after /services/ (Slack and
// Slack-compatible incoming webhooks: /services/T…/B…/TOKEN keeps T… and
// B… and hides TOKEN), the token after /api/webhooks/ID/ (Discord), the
// key after /hooks/ (Mattermost, Rocket.Chat), and any other segment that
// looks like a random token (20 or more letters, digits, '-' or '_',
// mixing letters and digits).
func redactPathTokens(u *url.URL) {
	segs := strings.Split(u.Path, "/")
	changed := false
	hide := func(i int) {
		if i < len(segs) && segs[i] != "" && segs[i] != redacted {
			segs[i] = redacted
			changed = true
		}
	}
	for i, s := range segs {
		switch strings.ToLower(s) {
		case "services":
			hide(i + 3)
		case "webhooks":
			if i > 0 && strings.EqualFold(segs[i-1], "api") {
				hide(i + 2)
			}
		case "hooks":
			hide(i + 1)
		}
		if looksLikeToken(s) {
			hide(i)
		}
	}
	if changed {
		u.Path = strings.Join(segs, "/")
		u.RawPath = ""
	}
}

func looksLikeToken(s string) bool {
	if len(s) < 20 {
		return false
	}
	letters, digits := false, false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			letters = true
		case r >= '0' && r <= '9':
			digits = true
		case r == '-' || r == '_':
		default:
			return false
		}
	}
	return letters && digits
}

// scrubbedError is an error whose message had credentials removed; it
// still unwraps to the original for errors.As (SMTP reply codes).
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// smtpAuthLine matches an AUTH command echoed back by a server, with its
// initial response or the credentials of a continuation.
var smtpAuthLine = regexp.MustCompile(`(?i)\bAUTH\s+(PLAIN|LOGIN|CRAM-MD5|DIGEST-MD5|XOAUTH2|OAUTHBEARER|NTLM|GSSAPI|SCRAM-[A-Z0-9-]+)\b(\s+\S+)*`)

// base64Run matches runs that may be base64-encoded credentials.
var base64Run = regexp.MustCompile(`[A-Za-z0-9+/]{12,}={0,2}`)

// scrubSMTP removes from an SMTP error what could reveal the credentials:
// echoed AUTH commands, the password itself, and the base64 forms of the
// PLAIN and LOGIN exchanges (and any other base64 run that decodes to
// text holding the password or user).
func scrubSMTP(msg, user, password string) string {
	msg = smtpAuthLine.ReplaceAllString(msg, "AUTH ("+redacted+")")
	if password != "" {
		msg = strings.ReplaceAll(msg, password, "("+redacted+")")
		for _, form := range []string{"\x00" + user + "\x00" + password, password} {
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
				if e := enc.EncodeToString([]byte(form)); e != "" {
					msg = strings.ReplaceAll(msg, e, "("+redacted+")")
				}
			}
		}
	}
	return base64Run.ReplaceAllStringFunc(msg, func(run string) string {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
			b, err := enc.DecodeString(run)
			if err != nil {
				continue
			}
			if strings.ContainsRune(string(b), 0) || (password != "" && strings.Contains(string(b), password)) || (user != "" && strings.Contains(string(b), user)) {
				return "(" + redacted + ")"
			}
		}
		return run
	})
}
