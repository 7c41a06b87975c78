// Package egress decides which files of a finished run may leave the sealed zone and copies
// them to a wes.ResultStore.
//
// It works in two steps so the runner can audit and, in review mode, hold the decision:
//
//	accepted, refused, err := egress.Select(workDir, policy, limits)   // what may leave, and why not the rest
//	outputs, err := egress.Release(ctx, store, prefix, workDir, accepted, audit)
//
// Select walks the work directory without following symbolic links and accepts only
// regular files, inside the work directory, matched by the policy's globs, within the size
// and count limits. Release re-opens each accepted file without following links and checks
// it is still the very file Select saw (same device, inode and size), so a file swapped for
// a link between the two steps is refused, not copied.
//
// Hard links: a hard link to a file outside the work directory looks like any regular
// file inside it, and no path check can tell them apart. Select therefore refuses every
// regular file with more than one link (Nlink > 1); workflows that want an output released
// must write it, not link it.
//
// The stores live in subpackages: localfs (a directory, for the embedded default) and s3
// (MinIO or any S3 service, through minio-go).
package egress
