// Package notify tells people outside the zone that something happened to a run: signed
// CloudEvents webhooks and plain-text e-mail. The run service and the runner decide what
// happened and store a wes.Notice in the run's outbox; Notifier.Notify turns it into one
// queued delivery per recipient (an asynq task each), and Worker delivers them with
// retries and exponential backoff, dead-lettering (and counting) those that never arrive.
//
// What leaves: the notice's ids, state, workflow id and counts of outputs by status;
// never a file name, size, hash, zone path, parameter or log line (see Event).
package notify
