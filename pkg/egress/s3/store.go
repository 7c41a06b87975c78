// Package s3 is a wes.ResultStore on MinIO or any S3 service, through minio-go (the
// Apache-2.0 client; the AGPL MinIO server is only ever an external service). Objects
// carry their content type and, as user metadata "sha256", the hex SHA-256 of their bytes.
package s3

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/wes"
)

// metaSHA256 is the user-metadata key of an object's hex SHA-256 (x-amz-meta-sha256).
const metaSHA256 = "sha256"

// Store is a wes.ResultStore on one bucket. Safe for concurrent use.
type Store struct {
	cfg     Config
	c       *minio.Client
	presign *minio.Client // c, or a client for PublicEndpoint
	log     *slog.Logger
}

var _ wes.ResultStore = (*Store)(nil)

// New connects to the service and creates the bucket if it is missing. EINVALID for a
// bad Config, EUNAVAILABLE when the service cannot be reached or refuses the keys.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	s := &Store{cfg: cfg, log: log.With("component", "s3", "bucket", cfg.Bucket)}
	client := func(endpoint string) (*minio.Client, error) {
		c, err := minio.New(endpoint, &minio.Options{
			Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
			Secure:     cfg.UseSSL,
			Region:     cfg.Region,
			MaxRetries: cfg.MaxRetries,
		})
		if err != nil {
			return nil, &wes.Error{Code: wes.EINVALID, Message: "s3.endpoint is not usable", Err: s.scrub(err)}
		}
		return c, nil
	}
	var err error
	if s.c, err = client(cfg.Endpoint); err != nil {
		return nil, err
	}
	s.presign = s.c
	if cfg.PublicEndpoint != "" {
		if s.presign, err = client(cfg.PublicEndpoint); err != nil {
			return nil, err
		}
	}
	if err := s.ensureBucket(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) ensureBucket(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.cfg.Bucket)
	if err != nil {
		return s.mapErr(err, "check the bucket")
	}
	if ok {
		return nil
	}
	err = s.c.MakeBucket(ctx, s.cfg.Bucket, minio.MakeBucketOptions{Region: s.cfg.Region})
	if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
		return nil // another instance created it first
	}
	if err != nil {
		return s.mapErr(err, "create the bucket")
	}
	s.log.Info("created bucket for released outputs")
	return nil
}

// Put stores size bytes of r under key with its content type and sha256. A reader that
// can seek is hashed first and uploaded in a second pass (checked against the first);
// any other reader is uploaded while hashed, and the sha256 is then added by a
// server-side copy of the object onto itself.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (wes.ObjectInfo, error) {
	if err := egress.ValidateKey(key, false); err != nil {
		return wes.ObjectInfo{}, err
	}
	if size < 0 {
		return wes.ObjectInfo{}, wes.Errorf(wes.EINVALID, "the size of %s is unknown", key)
	}
	info := wes.ObjectInfo{Key: key, Size: size, ContentType: contentType}
	if rs, ok := r.(io.ReadSeeker); ok {
		sum, err := hashSeeker(rs, size)
		if err != nil {
			return wes.ObjectInfo{}, wes.Internal(err, "could not read %s to upload it", key)
		}
		info.SHA256 = sum
	}
	h := sha256.New()
	body := &countingTee{r: io.LimitReader(r, size), h: h}
	opts := minio.PutObjectOptions{ContentType: contentType}
	if info.SHA256 != "" {
		opts.UserMetadata = map[string]string{metaSHA256: info.SHA256}
	}
	if _, err := s.c.PutObject(ctx, s.cfg.Bucket, key, body, size, opts); err != nil {
		return wes.ObjectInfo{}, s.mapErr(err, "upload "+key)
	}
	got := hex.EncodeToString(h.Sum(nil))
	switch {
	case body.n != size:
		s.removeQuietly(key)
		return wes.ObjectInfo{}, wes.Internal(fmt.Errorf("read %d bytes, want %d", body.n, size), "%s changed while it was uploaded", key)
	case info.SHA256 != "" && got != info.SHA256:
		s.removeQuietly(key)
		return wes.ObjectInfo{}, wes.Internal(errors.New("sha256 differs between passes"), "%s changed while it was uploaded", key)
	case info.SHA256 == "":
		info.SHA256 = got
		_, err := s.c.CopyObject(ctx,
			minio.CopyDestOptions{Bucket: s.cfg.Bucket, Object: key, ReplaceMetadata: true,
				ContentType: contentType, UserMetadata: map[string]string{metaSHA256: got}},
			minio.CopySrcOptions{Bucket: s.cfg.Bucket, Object: key})
		if err != nil {
			s.removeQuietly(key)
			return wes.ObjectInfo{}, s.mapErr(err, "record the checksum of "+key)
		}
	}
	return info, nil
}

// hashSeeker hashes exactly size bytes from rs's current position and seeks back there.
func hashSeeker(rs io.ReadSeeker, size int64) (string, error) {
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(rs, size))
	if err != nil {
		return "", err
	}
	if n != size {
		return "", fmt.Errorf("read %d bytes, want %d", n, size)
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// removeQuietly deletes an object a failed Put left behind; with its own deadline, since
// the Put's context may be the reason it failed.
func (s *Store) removeQuietly(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.c.RemoveObject(ctx, s.cfg.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
		s.log.Warn("could not remove a partly stored output", "key", key, "err", s.scrub(err))
	}
}

// Get opens the object under key. ENOTFOUND if there is none.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, wes.ObjectInfo, error) {
	if err := egress.ValidateKey(key, false); err != nil {
		return nil, wes.ObjectInfo{}, err
	}
	obj, err := s.c.GetObject(ctx, s.cfg.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, wes.ObjectInfo{}, s.mapErr(err, "open "+key)
	}
	st, err := obj.Stat() // GetObject is lazy: this is the request that can fail
	if err != nil {
		obj.Close()
		return nil, wes.ObjectInfo{}, s.mapErr(err, "open "+key)
	}
	return &reader{obj: obj, s: s, key: key}, wes.ObjectInfo{
		Key: key, Size: st.Size, ContentType: st.ContentType, SHA256: userMeta(st.UserMetadata, metaSHA256),
	}, nil
}

// userMeta finds a user-metadata value whatever case the service returned its key in.
func userMeta(m map[string]string, key string) string {
	for k, v := range m {
		if strings.EqualFold(strings.TrimPrefix(strings.ToLower(k), "x-amz-meta-"), key) {
			return v
		}
	}
	return ""
}

// URL returns a presigned GET URL for key, valid for ttl (1 s to 7 days, S3's bounds).
// It is computed locally: it does not check that the object exists. By S3's design the
// URL names the access key (not the secret).
func (s *Store) URL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := egress.ValidateKey(key, false); err != nil {
		return "", err
	}
	if ttl < time.Second || ttl > 7*24*time.Hour {
		return "", wes.Errorf(wes.EINVALID, "download URL lifetime %s is outside 1s..168h", ttl)
	}
	u, err := s.presign.PresignedGetObject(ctx, s.cfg.Bucket, key, ttl, url.Values{})
	if err != nil {
		return "", s.mapErr(err, "sign a download URL for "+key)
	}
	return u.String(), nil
}

// DeletePrefix removes every object whose key starts with prefix. EINVALID for an
// empty or malformed prefix, so a bug cannot empty the bucket.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	if err := egress.ValidateKey(prefix, true); err != nil {
		return err
	}
	var keys []minio.ObjectInfo
	for o := range s.c.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return s.mapErr(o.Err, "list outputs under "+prefix)
		}
		keys = append(keys, minio.ObjectInfo{Key: o.Key})
	}
	if len(keys) == 0 {
		return nil
	}
	ch := make(chan minio.ObjectInfo)
	go func() {
		defer close(ch)
		for _, k := range keys {
			select {
			case ch <- k:
			case <-ctx.Done():
				return
			}
		}
	}()
	var first error
	for e := range s.c.RemoveObjects(ctx, s.cfg.Bucket, ch, minio.RemoveObjectsOptions{}) {
		if first == nil && e.Err != nil {
			first = s.mapErr(e.Err, "delete "+e.ObjectName)
		}
	}
	if first == nil && ctx.Err() != nil {
		first = s.mapErr(ctx.Err(), "delete outputs under "+prefix)
	}
	return first
}

// countingTee hashes and counts what passes through it.
type countingTee struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (t *countingTee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.h.Write(p[:n])
	t.n += int64(n)
	return n, err
}

// reader maps read errors of a downloaded object like every other error.
type reader struct {
	obj *minio.Object
	s   *Store
	key string
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.obj.Read(p)
	if err != nil && err != io.EOF {
		err = r.s.mapErr(err, "read "+r.key)
	}
	return n, err
}

func (r *reader) Close() error { return r.obj.Close() }

// ListKeys returns the keys of the objects whose key starts with prefix, sorted (S3
// lists in key order). EINVALID for a malformed prefix.
func (s *Store) ListKeys(ctx context.Context, prefix string) ([]string, error) {
	if err := egress.ValidateKey(prefix, true); err != nil {
		return nil, err
	}
	var keys []string
	for o := range s.c.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, s.mapErr(o.Err, "list objects under "+prefix)
		}
		keys = append(keys, o.Key)
	}
	return keys, nil
}
