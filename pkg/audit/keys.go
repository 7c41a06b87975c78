package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

// maxKeyFile bounds what LoadSigningKey and ParsePublicKey read: an Ed25519 PEM is
// about 120 bytes.
const maxKeyFile = 64 << 10

// LoadSigningKey reads the Ed25519 private key that signs checkpoints from a PEM file
// holding a PKCS#8 "PRIVATE KEY", as `openssl genpkey -algorithm ed25519` writes it. The
// file must be readable by its owner only (no group or other permission bits): a key
// anyone on the host can read signs nothing anyone should believe. The errors say what
// to do and never include the key.
func LoadSigningKey(path string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open the checkpoint signing key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read the checkpoint signing key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable or writable by group or others (mode %04o); make it the server's own: chmod 600 %s", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile))
	if err != nil {
		return nil, fmt.Errorf("cannot read the checkpoint signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s is not a PEM \"PRIVATE KEY\" (PKCS#8); create one with: openssl genpkey -algorithm ed25519 -out %s", path, path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s does not hold a readable PKCS#8 private key; create one with: openssl genpkey -algorithm ed25519 -out %s", path, path)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T, not an Ed25519 key; create one with: openssl genpkey -algorithm ed25519 -out %s", path, k, path)
	}
	return ek, nil
}

// ParsePublicKey reads an Ed25519 public key from PEM ("PUBLIC KEY", PKIX), as
// `openssl pkey -in key.pem -pubout` writes it. A private key is refused: the verifier
// should not hold it.
func ParsePublicKey(pemBytes []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(pemBytes)
	switch {
	case blk == nil:
		return nil, errors.New("not a PEM file; export the public key with: openssl pkey -in KEY -pubout -out PUBLIC.pem")
	case blk.Type == "PRIVATE KEY":
		return nil, errors.New("this is the private key; give the public one (openssl pkey -in KEY -pubout -out PUBLIC.pem) and keep the private key off this machine")
	case blk.Type != "PUBLIC KEY":
		return nil, fmt.Errorf("a PEM %q, not a \"PUBLIC KEY\"", blk.Type)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a readable public key: %w", err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 public key", k)
	}
	return ek, nil
}

// KeyID names a public key in checkpoints: the first 8 bytes of the SHA-256 of its raw
// 32 bytes, in hex. It tells keys apart (rotation); it proves nothing by itself.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}
