package app

import (
	"crypto/x509"
	"fmt"
	"os"

	"github.com/hibiken/asynq"

	"github.com/spe4hd/enclave/pkg/config"
	"github.com/spe4hd/enclave/pkg/notify"
	"github.com/spe4hd/enclave/pkg/wes"
)

// buildNotify builds the Notifier the run service and the runner hand notices to, and,
// for a worker, the Worker delivering them. Nothing when notify.* configures no webhook
// and no mail server.
func (a *App) buildNotify(opt asynq.RedisConnOpt) error {
	if !a.cfg.NotifyEnabled() {
		return nil
	}
	cfg, err := notifyConfig(a.cfg)
	if err != nil {
		return err
	}
	cfg.Logger = a.log
	if a.notifier, err = notify.New(opt, cfg); err != nil {
		return err
	}
	if a.roles.Worker {
		if a.notifyWorker, err = notify.NewWorker(opt, cfg); err != nil {
			return err
		}
	}
	return nil
}

// notices is the Notifier as the runner and the run service take it: nil (no one is
// told) when notifications are off.
func (a *App) notices() wes.Notifier {
	if a.notifier == nil {
		return nil
	}
	return a.notifier
}

// notifyConfig translates notify.* into notify.Config, reading the secret, password and
// CA files.
func notifyConfig(c config.Config) (notify.Config, error) {
	n := c.Notify
	out := notify.Config{Source: n.Source, IncludeOwner: n.IncludeOwner, AllowHTTPLoopback: n.AllowHTTPLoopback,
		Timeout: n.Timeout, MaxRetry: n.MaxRetry, RetryBase: n.RetryBase, RetryMax: n.RetryMax,
		Reviewers: n.Email.Reviewers, Queue: c.Redis.Queue + "-notify", KeyPrefix: c.Redis.KeyPrefix}
	if n.MaxRetry == 0 {
		out.MaxRetry = -1 // notify.max_retry: 0 means no retry, not the package default
	}
	for i, h := range n.Webhooks {
		secret := h.Secret
		if h.SecretFile != "" {
			s, err := config.ReadSecretFile(h.SecretFile)
			if err != nil {
				return out, fmt.Errorf("notify.webhooks[%d].secret_file: %w", i, err)
			}
			secret = s
		}
		if len(secret) < 16 {
			return out, fmt.Errorf("notify.webhooks[%d]: the secret must be at least 16 bytes", i)
		}
		out.Webhooks = append(out.Webhooks, notify.Webhook{URL: h.URL, Secret: []byte(secret), Events: h.Events})
	}
	if s := n.SMTP; s.Host != "" {
		smtp := &notify.SMTP{Host: s.Host, Port: s.Port, Username: s.Username, From: s.From, StartTLS: s.StartTLS}
		if s.PasswordFile != "" {
			p, err := config.ReadSecretFile(s.PasswordFile)
			if err != nil {
				return out, fmt.Errorf("notify.smtp.password_file: %w", err)
			}
			smtp.Password = p
		}
		if s.CAFile != "" {
			pem, err := os.ReadFile(s.CAFile)
			if err != nil {
				return out, fmt.Errorf("notify.smtp.ca_file: %w", err)
			}
			smtp.RootCAs = x509.NewCertPool()
			if !smtp.RootCAs.AppendCertsFromPEM(pem) {
				return out, fmt.Errorf("notify.smtp.ca_file: no PEM certificate in %s", s.CAFile)
			}
		}
		out.SMTP = smtp
	}
	return out, nil
}
