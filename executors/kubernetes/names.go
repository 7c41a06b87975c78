package kubernetes

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// Labels and annotations on every Job (and its pods) the executor creates.
const (
	LabelManagedBy   = "app.kubernetes.io/managed-by"
	ManagedByEnclave = "enclave"
	// LabelRunID carries the run's key: the run id itself when it is a DNS label, else
	// a sanitized form with a hash (see runKey). The exact id is in AnnotationRunID.
	LabelRunID      = "enclave/run-id"
	AnnotationRunID = "enclave/run-id"
	// AnnotationStopped records why the executor stopped a Job: "canceled", or the
	// reason its container could not start. It is set in the same patch that suspends
	// the Job, so any instance knows a stopped Job from a failed one.
	AnnotationStopped   = "enclave/stopped"
	AnnotationStoppedAt = "enclave/stopped-at"
	stopCanceled        = "canceled"
	// containerName is the one container of a job pod.
	containerName = "job"
	namePrefix    = "enclave-"
	// maxName is the longest Job name: the job controller copies it into a label value.
	maxName = 63
)

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// runKey maps a run id to a DNS-1123 label of at most maxName-len(namePrefix)
// characters, deterministically, so a repeated Submit finds the same Job. An id that is
// already such a label is its own key (a UUID is); any other id becomes a readable,
// sanitized prefix and a hash of the exact id, so two ids never share a key by accident
// (Submit checks AnnotationRunID against deliberate look-alikes).
func runKey(id string) string {
	const room = maxName - len(namePrefix)
	if len(id) <= room && dnsLabel.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	hash := hex.EncodeToString(sum[:])[:12]
	var b strings.Builder
	dash := true // no leading dash, no runs of dashes
	for _, r := range strings.ToLower(id) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	prefix := b.String()
	if max := room - len(hash) - 1; len(prefix) > max {
		prefix = prefix[:max]
	}
	prefix = strings.Trim(prefix, "-")
	if prefix == "" {
		return hash
	}
	return prefix + "-" + hash
}

// jobName is the name of the Job of run id.
func jobName(id string) string { return namePrefix + runKey(id) }
