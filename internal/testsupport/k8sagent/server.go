package k8sagent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"strings"
	"time"
)

// selfSigned returns a throw-away serving certificate for 127.0.0.1. The API server does
// not verify kubelet certificates unless it is given --kubelet-certificate-authority,
// which the test control plane is not.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "enclave-test-node-agent"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// serveLogs answers the kubelet endpoint the API server proxies pods/log to:
// GET /containerLogs/{namespace}/{pod}/{container}[?stream=Stdout|Stderr|All]. The
// whole log so far is returned; follow, tailLines, limitBytes and since* are ignored
// (the executor uses none of them).
func (a *Agent) serveLogs(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
	if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/containerLogs/") || len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	a.mu.Lock()
	path, ok := a.logs[strings.Join(parts, "/")]
	a.mu.Unlock()
	if !ok {
		http.Error(w, "container not found", http.StatusNotFound)
		return
	}
	want := func(byte) bool { return true }
	switch r.URL.Query().Get("stream") {
	case "", "All":
	case "Stdout":
		want = func(s byte) bool { return s == streamStdout }
	case "Stderr":
		want = func(s byte) bool { return s == streamStderr }
	default:
		http.Error(w, "unknown stream", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	if err := readLog(path, want, w); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			http.Error(w, "log not found", http.StatusNotFound)
			return
		}
		a.log.Warn("serving a container log", "path", r.URL.Path, "err", err)
	}
}
