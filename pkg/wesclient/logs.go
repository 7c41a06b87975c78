package wesclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	"github.com/spe4hd/enclave/api"
)

// Stdout and Stderr name the two log streams of a run.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// ReadLog reads stream (Stdout or Stderr) of run id from offset through Enclave's log
// endpoint (an x-enclave extension) and returns the text and the offset of the next read.
func (c *Client) ReadLog(ctx context.Context, id, stream string, offset int64) ([]byte, int64, error) {
	resp, err := okBody(c.api.GetRunLogStream(ctx, id, api.GetRunLogStreamParamsStream(stream), &api.GetRunLogStreamParams{Offset: offset}))
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	next := offset + int64(len(text))
	if h := resp.Header.Get("X-Enclave-Next-Offset"); h != "" {
		if n, err := strconv.ParseInt(h, 10, 64); err == nil && n >= offset {
			next = n
		}
	}
	return text, next, nil
}

// logEndpoint reports whether link is this server's own log endpoint for run id, the one
// that takes an offset, and which stream it serves.
func (c *Client) logEndpoint(link *url.URL, id string) (stream string, ok bool) {
	if !c.sameOrigin(link) {
		return "", false
	}
	for _, s := range []string{Stdout, Stderr} {
		if path.Clean(link.Path) == c.base.Path+"/runs/"+id+"/logs/"+s {
			return s, true
		}
	}
	return "", false
}

// Fetch GETs link whole into w: a log link that a WES server gave (relative links are
// taken against the API base). The token goes along only to the API's own origin.
func (c *Client) Fetch(ctx context.Context, link string, w io.Writer) error {
	u, err := url.Parse(link)
	if err != nil {
		return fmt.Errorf("the server's link %q is not a URL", link)
	}
	u = c.base.ResolveReference(u)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	if err := c.authorize(ctx, req); err != nil {
		return err
	}
	resp, err := okBody(c.hc.Do(req))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// LogOptions say how CopyLog reads.
type LogOptions struct {
	// Follow keeps reading new text until the run ends.
	Follow bool
	// Interval is the time between reads when following (default 1s).
	Interval time.Duration
	// Unfollowable is called, when following, if the server's log link is not Enclave's
	// log endpoint: such a link is read once, as it is.
	Unfollowable func()
}

// CopyLog writes stream (Stdout or Stderr) of run id to w, as the run's RunLog links
// it: through Enclave's log endpoint, following new text with opt.Follow, or for another
// server's kind of link by reading it once.
func (c *Client) CopyLog(ctx context.Context, id, stream string, w io.Writer, opt LogOptions) error {
	rl, err := c.RunLog(ctx, id)
	if err != nil {
		return err
	}
	link := rl.RunLog.Stdout
	if stream == Stderr {
		link = rl.RunLog.Stderr
	}
	if link != "" {
		u, err := url.Parse(link)
		if err != nil {
			return fmt.Errorf("the server's %s link is not a URL", stream)
		}
		if s, ok := c.logEndpoint(c.base.ResolveReference(u), id); !ok || s != stream {
			if opt.Follow && opt.Unfollowable != nil {
				opt.Unfollowable()
			}
			return c.Fetch(ctx, link, w)
		}
	}
	interval := opt.Interval
	if interval <= 0 {
		interval = time.Second
	}
	var offset int64
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ended := !opt.Follow
		if opt.Follow {
			st, err := c.Status(ctx, id)
			if err != nil {
				return err
			}
			ended = Terminal(st.State) // read once more after the end: that read gets the rest
		}
		text, next, err := c.ReadLog(ctx, id, stream, offset)
		if err != nil {
			return err
		}
		if _, err := w.Write(text); err != nil {
			return err
		}
		offset = next
		if ended {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
