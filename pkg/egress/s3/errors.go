package s3

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/spe4hd/enclave/pkg/wes"
)

// scrubbed is an error whose text has the credentials removed. It deliberately does not
// unwrap: nothing up the chain can print the original text.
type scrubbed struct{ msg string }

func (e scrubbed) Error() string { return e.msg }

// mapErr turns a minio-go error into a *wes.Error: ENOTFOUND for a missing object or
// bucket, EUNAVAILABLE when the service cannot be reached, is overloaded, or refuses the
// credentials (an operator problem, not the client's), EINTERNAL otherwise. what says
// what was being done, for the message. The cause is kept with both keys scrubbed out.
func (s *Store) mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	var we *wes.Error
	if errors.As(err, &we) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the object store did not answer in time (" + what + ")", Err: ctxErr(err)}
	}
	cause := s.scrub(err)
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "NoSuchKey", "NoSuchBucket", "NotFound":
		return &wes.Error{Code: wes.ENOTFOUND, Message: "no such stored output (" + what + ")", Err: cause}
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken":
		return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the object store refused Enclave's credentials (" + what + "); operators: check the S3 keys", Err: cause}
	case "SlowDown", "ServiceUnavailable", "XMinioServerNotInitialized", "InternalError", "RequestTimeout":
		return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the object store is unavailable (" + what + ")", Err: cause}
	}
	if resp.StatusCode >= 500 {
		return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the object store is unavailable (" + what + ")", Err: cause}
	}
	var ne net.Error
	if resp.Code == "" && (errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused")) {
		return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the object store cannot be reached (" + what + ")", Err: cause}
	}
	return &wes.Error{Code: wes.EINTERNAL, Message: "the object store failed (" + what + ")", Err: cause}
}

func ctxErr(err error) error {
	if errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	return context.DeadlineExceeded
}

// scrub removes both keys from err's text (an S3 error can echo a request's header).
func (s *Store) scrub(err error) error {
	msg := err.Error()
	for _, k := range []string{s.cfg.SecretKey, s.cfg.AccessKey} {
		if k != "" {
			msg = strings.ReplaceAll(msg, k, "[redacted]")
		}
	}
	return scrubbed{msg}
}
