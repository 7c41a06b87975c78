package wesclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spe4hd/enclave/api"
)

// Error is an answer other than 2xx.
type Error struct {
	// Status is the HTTP status of the answer.
	Status int
	// Response is the WES ErrorResponse the server sent; its Msg says what went wrong
	// and how to fix it. Zero when the body was not an ErrorResponse (a proxy's page).
	Response api.ErrorResponse
}

func (e *Error) Error() string {
	s := fmt.Sprintf("server answered %d %s", e.Status, http.StatusText(e.Status))
	if e.Response.Msg != "" {
		s += ": " + e.Response.Msg
	}
	return s
}

// StatusOf returns the HTTP status of err's *Error, or 0 when err is not an answer of
// the server (a network failure, a refused token).
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// maxJSON bounds a JSON answer read into memory; a page of runs is far smaller.
const maxJSON = 32 << 20

// decode reads a JSON answer into a T, or returns the *Error of a non-2xx answer. It
// takes the generated client's result as it is, so every call is one line.
func decode[T any](resp *http.Response, err error) (T, error) {
	var v T
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJSON))
	if err != nil {
		return v, err
	}
	if err := check(resp, body); err != nil {
		return v, err
	}
	// As the generated client: any JSON media type (application/json, with a charset, +json).
	ct := resp.Header.Get("Content-Type")
	if !strings.Contains(ct, "json") || json.Unmarshal(body, &v) != nil {
		return v, fmt.Errorf("server answered %d with %q, not the expected JSON", resp.StatusCode, ct)
	}
	return v, nil
}

// check returns nil for a 2xx answer and an *Error otherwise; body is the start of the
// answer's body.
func check(resp *http.Response, body []byte) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &Error{Status: resp.StatusCode}
	var er api.ErrorResponse
	if json.Unmarshal(body, &er) == nil {
		e.Response = er
	}
	return e
}

// okBody returns a 2xx answer's body, to be read and closed by the caller, and
// otherwise closes it and returns the *Error.
func okBody(resp *http.Response, err error) (*http.Response, error) {
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return nil, check(resp, body)
}
