package s3

import (
	"log/slog"
	"strings"

	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Config says where released outputs go. Constructors never read the environment: the
// caller fills this from Enclave's configuration.
type Config struct {
	// Endpoint is the S3 service as host:port, without a scheme, e.g. "minio:9000". Required.
	Endpoint string
	// AccessKey and SecretKey are the credentials. Required. SecretKey is a secret:
	// Redacted hides it, and no error text carries either key.
	AccessKey string
	SecretKey string
	// Bucket holds every run's outputs (under per-owner, per-run prefixes); created if
	// missing. Required.
	Bucket string
	// UseSSL talks HTTPS to the endpoint. Default false.
	UseSSL bool
	// Region of the bucket. Default "us-east-1" (MinIO's default); set so presigning needs
	// no region look-up.
	Region string
	// PublicEndpoint, when set, is the host:port presigned URLs name instead of Endpoint,
	// for clients that reach the service under another name. Default "" (Endpoint).
	PublicEndpoint string
	// MaxRetries is how often the client retries a failed request. Default 3.
	MaxRetries int
}

// Validate returns an EINVALID error naming the first bad field.
func (c Config) Validate() error {
	for _, f := range []struct{ name, val string }{
		{"s3.endpoint", c.Endpoint}, {"s3.public_endpoint", c.PublicEndpoint},
	} {
		if strings.Contains(f.val, "://") || strings.Contains(f.val, "/") {
			return wes.Errorf(wes.EINVALID, "%s %q must be host:port without a scheme or path; use s3.use_ssl for HTTPS", f.name, f.val)
		}
	}
	switch {
	case c.Endpoint == "":
		return wes.Errorf(wes.EINVALID, "s3.endpoint is required (host:port of the S3 service)")
	case c.AccessKey == "":
		return wes.Errorf(wes.EINVALID, "s3.access_key is required")
	case c.SecretKey == "":
		return wes.Errorf(wes.EINVALID, "s3.secret_key is required")
	case c.Bucket == "":
		return wes.Errorf(wes.EINVALID, "s3.bucket is required")
	case s3utils.CheckValidBucketNameStrict(c.Bucket) != nil:
		return wes.Errorf(wes.EINVALID, "s3.bucket %q is not a valid bucket name (3-63 lower-case letters, digits, '.' and '-')", c.Bucket)
	case c.MaxRetries < 0:
		return wes.Errorf(wes.EINVALID, "s3.max_retries is negative; use 0 for the default")
	}
	return nil
}

// Redacted returns a copy fit for logs: the secret key replaced.
func (c Config) Redacted() Config {
	if c.SecretKey != "" {
		c.SecretKey = "[redacted]"
	}
	return c
}

// LogValue keeps the secret out of slog output even when a Config is logged whole.
func (c Config) LogValue() slog.Value {
	r := c.Redacted()
	return slog.GroupValue(
		slog.String("endpoint", r.Endpoint), slog.String("bucket", r.Bucket),
		slog.Bool("use_ssl", r.UseSSL), slog.String("region", r.Region),
		slog.String("public_endpoint", r.PublicEndpoint), slog.String("access_key", r.AccessKey),
		slog.String("secret_key", r.SecretKey),
	)
}

func (c Config) withDefaults() Config {
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 3
	}
	return c
}
