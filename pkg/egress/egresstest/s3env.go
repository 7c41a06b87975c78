// Package egresstest has what tests of result stores and egress need: the real MinIO
// `make test` starts (S3Config), and one conformance suite every wes.ResultStore
// implementation runs (RunStore).
package egresstest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/spe4hd/enclave/pkg/egress/s3"
)

// Environment variables scripts/test-services.sh sets for the MinIO it started.
const (
	EndpointEnv  = "ENCLAVE_TEST_S3_ENDPOINT"
	AccessKeyEnv = "ENCLAVE_TEST_S3_ACCESS_KEY"
	SecretKeyEnv = "ENCLAVE_TEST_S3_SECRET_KEY"
)

// S3Config returns a Config for the real MinIO named by the ENCLAVE_TEST_S3_*
// variables, with a fresh bucket name so tests never share a bucket. Without them the
// test is skipped with the reason, except under CI (CI set), where it fails: CI must
// not skip the object-store tests.
func S3Config(tb testing.TB) s3.Config {
	tb.Helper()
	c := s3.Config{
		Endpoint:  os.Getenv(EndpointEnv),
		AccessKey: os.Getenv(AccessKeyEnv),
		SecretKey: os.Getenv(SecretKeyEnv),
	}
	if c.Endpoint == "" || c.AccessKey == "" || c.SecretKey == "" {
		const why = "no real MinIO: set " + EndpointEnv + ", " + AccessKeyEnv + " and " + SecretKeyEnv +
			" (scripts/test-services.sh does, after scripts/minio.sh build; `make test` does both)"
		if os.Getenv("CI") != "" {
			tb.Fatal("real MinIO required under CI: " + why)
		}
		tb.Skip("SKIP: " + why)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	c.Bucket = "enclave-test-" + hex.EncodeToString(b)
	return c
}
