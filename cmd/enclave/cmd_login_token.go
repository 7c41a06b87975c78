package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"
)

// loginToken is the wesclient.TokenSource of the token `enclave login` stored, read
// once, at the first request.
type loginToken struct {
	g    *globals
	once sync.Once
	tok  string
	err  error
}

func (l *loginToken) Token(context.Context) (string, error) {
	l.once.Do(func() { l.tok, l.err = storedToken(l.g) })
	return l.tok, l.err
}

// storedToken returns the access token `enclave login` saved, or "" when there is none.
// A file others can read or change is refused rather than used, and an expired token
// is an error that says to log in again (sending it would only earn a 401).
func storedToken(g *globals) (string, error) {
	path, err := tokenPath(g)
	if err != nil {
		return "", nil // no home: no stored token
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("token file %s is accessible to other users (mode %v); run chmod 600 on it or enclave login again", path, fi.Mode().Perm())
	}
	var tf tokenFile
	if err := json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&tf); err != nil || tf.AccessToken == "" {
		return "", fmt.Errorf("token file %s is not one enclave login wrote; run enclave login again", path)
	}
	if !tf.Expiry.IsZero() && time.Now().After(tf.Expiry) {
		return "", fmt.Errorf("the token from enclave login expired at %s; run enclave login again", tf.Expiry.Local().Format(time.RFC3339))
	}
	return tf.AccessToken, nil
}
