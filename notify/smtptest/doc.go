// Package smtptest runs a real SMTP server (Debian's python3-aiosmtpd,
// through testdata/smtpd.py) on a loopback port for tests, the way
// net/http/httptest runs an HTTP server: STARTTLS with a throwaway
// certificate and AUTH on request, every accepted message kept for the
// test to read.
package smtptest
