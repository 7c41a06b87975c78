package queue

import (
	"fmt"
	"log/slog"
)

// asynqLogger adapts a slog.Logger to asynq's Logger interface, so that asynq's own
// messages land in the same structured log as ours.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "source", "asynq") }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "source", "asynq") }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "source", "asynq") }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "source", "asynq") }

// Fatal logs at error level and does not exit: asynq never calls it, and library code
// must not end the process.
func (a asynqLogger) Fatal(args ...any) {
	a.l.Error(fmt.Sprint(args...), "source", "asynq", "asynq_level", "fatal")
}
