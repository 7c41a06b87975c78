package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshRunner runs commands over one shared SSH connection, dialled on first use and
// again after a call found it broken.
type sshRunner struct {
	cfg    SSHConfig
	client *ssh.ClientConfig
	log    *slog.Logger

	sessions chan struct{} // one slot per concurrent session (sshd's MaxSessions)

	mu   sync.Mutex
	conn *ssh.Client
	stop chan struct{} // closes the keep-alive loop of conn
}

func newSSHRunner(cfg SSHConfig, log *slog.Logger) (*sshRunner, error) {
	key, err := os.ReadFile(cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("slurm executor: SSH.KeyFile: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("slurm executor: SSH.KeyFile: %w", err)
	}
	hostKeys, err := knownhosts.New(cfg.KnownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("slurm executor: SSH.KnownHostsFile: %w", err)
	}
	return &sshRunner{
		cfg:      cfg,
		log:      log,
		sessions: make(chan struct{}, cfg.MaxSessions),
		client: &ssh.ClientConfig{
			User:            cfg.User,
			Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
			HostKeyCallback: hostKeys,
			Timeout:         cfg.DialTimeout,
		},
	}, nil
}

// get returns the shared connection, dialling it if there is none.
func (r *sshRunner) get(ctx context.Context) (*ssh.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn != nil {
		return r.conn, nil
	}
	d := net.Dialer{Timeout: r.cfg.DialTimeout}
	nc, err := d.DialContext(ctx, "tcp", r.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to the login node: %w", err)
	}
	// The handshake has no context: bound it by the dial timeout.
	_ = nc.SetDeadline(time.Now().Add(r.cfg.DialTimeout))
	c, chans, reqs, err := ssh.NewClientConn(nc, r.cfg.Addr, r.client)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("SSH handshake with the login node: %w", err)
	}
	_ = nc.SetDeadline(time.Time{})
	r.conn = ssh.NewClient(c, chans, reqs)
	r.stop = make(chan struct{})
	if r.cfg.KeepAlive > 0 {
		go r.keepAlive(r.conn, r.stop)
	}
	return r.conn, nil
}

// drop forgets conn (if it is still the shared one) so that the next call re-dials.
func (r *sshRunner) drop(conn *ssh.Client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == conn && conn != nil {
		close(r.stop)
		r.conn.Close()
		r.conn, r.stop = nil, nil
	}
}

// keepAlive sends keep-alive requests so that idle connections through NATs and
// firewalls stay open and a dead peer is noticed; a failed request drops the connection.
func (r *sshRunner) keepAlive(conn *ssh.Client, stop <-chan struct{}) {
	t := time.NewTicker(r.cfg.KeepAlive)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if _, _, err := conn.SendRequest("keepalive@openssh.com", true, nil); err != nil {
				r.log.Warn("slurm executor: SSH keep-alive failed; reconnecting on next use", "err", err)
				r.drop(conn)
				return
			}
		}
	}
}

func (r *sshRunner) run(ctx context.Context, stdin []byte, argv ...string) ([]byte, error) {
	var lastErr error
	// A shared connection may have died since its last use: one fresh dial is tried.
	for attempt := 0; attempt < 2; attempt++ {
		conn, err := r.get(ctx)
		if err != nil {
			return nil, err
		}
		select {
		case r.sessions <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		sess, err := r.newSession(ctx, conn)
		if err != nil {
			<-r.sessions
			var oce *ssh.OpenChannelError
			if errors.As(err, &oce) || ctx.Err() != nil { // refused or given up; the connection is fine
				return nil, fmt.Errorf("opening an SSH session: %w", err)
			}
			r.drop(conn)
			lastErr = fmt.Errorf("opening an SSH session: %w", err)
			continue
		}
		out, err := runSession(ctx, sess, stdin, QuoteArgv(argv))
		<-r.sessions
		var me *ssh.ExitMissingError
		if errors.As(err, &me) || errors.Is(err, io.EOF) {
			r.drop(conn)
		}
		return out, err
	}
	return nil, lastErr
}

// newSession opens a session, retrying while the server refuses it: sshd counts a
// session until it has finished closing it on its side, so a burst of short commands can
// briefly exceed its MaxSessions even though we never run more than ours at once.
func (r *sshRunner) newSession(ctx context.Context, conn *ssh.Client) (*ssh.Session, error) {
	backoff := 20 * time.Millisecond
	for attempt := 0; ; attempt++ {
		sess, err := conn.NewSession()
		var oce *ssh.OpenChannelError
		if err == nil || !errors.As(err, &oce) || attempt == 8 {
			return sess, err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		backoff *= 2
	}
}

func runSession(ctx context.Context, sess *ssh.Session, stdin []byte, cmd string) ([]byte, error) {
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	if stdin != nil {
		sess.Stdin = bytes.NewReader(stdin)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Run(cmd) }()
	select {
	case <-ctx.Done():
		sess.Close()
		return nil, ctx.Err()
	case err := <-done:
		var ee *ssh.ExitError
		if errors.As(err, &ee) {
			return stdout.Bytes(), &exitError{code: ee.ExitStatus(), stderr: stderr.String()}
		}
		if err != nil {
			return nil, fmt.Errorf("running a command on the login node: %w", err)
		}
		return stdout.Bytes(), nil
	}
}

// withSFTP runs fn with an SFTP client on the shared connection. The client's session
// takes one of the MaxSessions slots while fn runs; ctx ending closes the client, which
// fails the operation fn is in. A connection found broken is dropped, so that the next
// call re-dials. Errors of fn are returned as they are.
func (r *sshRunner) withSFTP(ctx context.Context, fn func(*sftp.Client) error) error {
	var c *sftp.Client
	var conn *ssh.Client
	for attempt := 0; ; attempt++ {
		var err error
		if conn, err = r.get(ctx); err != nil {
			return err
		}
		select {
		case r.sessions <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		c, err = sftp.NewClient(conn, sftp.UseConcurrentWrites(true))
		if err == nil {
			break
		}
		<-r.sessions
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) || ctx.Err() != nil || attempt == 1 {
			return fmt.Errorf("opening an SFTP session: %w", err)
		}
		r.drop(conn) // a dead connection: dial once more
	}
	defer func() { <-r.sessions }()
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = c.Close()
		case <-done:
		}
	}()
	err := fn(c)
	close(done)
	_ = c.Close()
	if errors.Is(err, sftp.ErrSSHFxConnectionLost) || errors.Is(err, io.EOF) {
		r.drop(conn)
	}
	return err
}

func (r *sshRunner) close() error {
	r.mu.Lock()
	conn := r.conn
	r.mu.Unlock()
	r.drop(conn)
	return nil
}
