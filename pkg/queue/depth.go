package queue

import (
	"errors"

	"github.com/hibiken/asynq"
)

// Depth is how many steps wait in the Client's queue: pending, scheduled (delayed) and
// waiting to be retried; not those a worker holds. A queue nothing was ever put in is 0.
func (c *Client) Depth() (name string, n int, err error) {
	info, err := c.ins.GetQueueInfo(c.queue)
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return c.queue, 0, nil
	}
	if err != nil {
		return c.queue, 0, err
	}
	return c.queue, info.Pending + info.Scheduled + info.Retry, nil
}
