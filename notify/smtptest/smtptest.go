package smtptest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running SMTP server.
type Server struct {
	// Addr is its host:port.
	Addr    string
	maildir string
}

// Mail is one message the server accepted.
type Mail struct {
	From string   `json:"from"`
	To   []string `json:"to"`
	// Data is the message as received (headers and body).
	Data string `json:"data"`
	// TLS and Authenticated say how the session went.
	TLS           bool `json:"tls"`
	Authenticated bool `json:"authenticated"`
}

// Options configure the server.
type Options struct {
	// CertFile and KeyFile enable STARTTLS.
	CertFile, KeyFile string
	// Username and Password enable AUTH (without requiring TLS).
	Username, Password string
}

// Python finds a python3 with aiosmtpd (Debian's python3-aiosmtpd lives
// in the system python, which may not be the first python3 on PATH).
// Missing in CI fails the test; elsewhere it skips it.
func Python(t testing.TB) string {
	t.Helper()
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		if exec.Command(c, "-c", "import aiosmtpd").Run() == nil {
			return c
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("python3 with aiosmtpd not found (scripts/tools.sh installs python3-aiosmtpd)")
	}
	t.Skip("python3 with aiosmtpd not found; apt-get install python3-aiosmtpd (scripts/tools.sh)")
	return ""
}

func script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "smtpd.py")
}

// Start starts a server on a free loopback port; it stops when t ends.
// Recipients starting with "reject" get 550, "tempfail" 451.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	py := Python(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	maildir := t.TempDir()
	args := []string{script(), strconv.Itoa(port), maildir}
	if opts.CertFile != "" {
		args = append(args, "--tls", opts.CertFile, opts.KeyFile)
	}
	if opts.Username != "" {
		args = append(args, "--auth", opts.Username, opts.Password)
	}
	cmd := exec.Command(py, args...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- strings.TrimSpace(line) == "READY"
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("smtpd.py did not start")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("smtpd.py did not start within 20s")
	}
	return &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), maildir: maildir}
}

// Mails returns the messages accepted so far, in order.
func (s *Server) Mails(t testing.TB) []Mail {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(s.maildir, "*.json"))
	sort.Strings(names)
	var out []Mail
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var m Mail
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// SelfSignedCert writes a certificate for 127.0.0.1 and localhost and its
// key; it returns their paths and a pool that trusts the certificate.
func SelfSignedCert(t testing.TB) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "claimdrift test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
