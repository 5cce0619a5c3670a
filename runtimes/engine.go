package runtimes

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/ctr-enter/ctr-enter/internal/text"
)

// Engine is a client of Docker's Engine API over its unix socket, with
// plain HTTP: the few calls ctr-enter needs do not justify a client
// library. Paths carry no API version, so the daemon answers in its own;
// the fields used here have been stable since API 1.24.
type Engine struct {
	socket string
	http   *http.Client
}

// NewEngine makes a client of the Engine API at host (DOCKER_HOST's form:
// unix:///PATH, or the absolute PATH alone); it dials nothing yet.
func NewEngine(host string) (*Engine, error) {
	socket, err := dockerSocket(host)
	if err != nil {
		return nil, err
	}
	d := &Engine{socket: socket}
	d.http = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "unix", socket)
		},
	}}
	return d, nil
}

// dockerSocket is the socket path of a DOCKER_HOST value. A bare absolute
// path is taken as one, as people write it; any other form is refused with
// the form that works, since only a daemon on this host can run the
// target's processes where ctr-enter can join them.
func dockerSocket(host string) (string, error) {
	bad := func(why string) error {
		return &UnavailableError{Runtime: Docker, Reason: fmt.Sprintf("--docker-host/DOCKER_HOST %q: %s (the form is unix:///PATH, e.g. %s)", text.Clean(host), why, DefaultDockerHost)}
	}
	path, unix := strings.CutPrefix(host, "unix://")
	switch {
	case strings.HasPrefix(path, "/"):
		return path, nil
	case unix:
		return "", bad("the socket path must be absolute")
	case strings.Contains(host, "://"):
		return "", bad("only a unix socket on this host can be used")
	}
	return "", bad("not a unix socket URL")
}

func (e *Engine) Close() error {
	e.http.CloseIdleConnections()
	return nil
}

// Do makes one Engine API call: in, if not nil, is sent as JSON, and out,
// if not nil, receives the JSON answer. A 404 is ErrNotFound; any other
// failure says what the daemon said.
func (e *Engine) Do(ctx context.Context, method, path string, in, out any) error {
	resp, err := e.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return fmt.Errorf("docker: decode %s: %w", path, err)
	}
	return nil
}

// send makes one call and returns the answer of a successful one, whose
// body the caller closes.
func (e *Engine) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	if err := checkSocket(Docker, e.socket); err != nil {
		return nil, err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://docker"+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return nil, unavailable(ctx, Docker, e.socket, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		resp.Body.Close()
		return nil, ErrNotFound
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var msg struct{ Message string }
		json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&msg)
		return nil, &statusError{code: resp.StatusCode,
			msg: fmt.Sprintf("docker: %s %s: %s: %s", method, path, resp.Status, text.Clean(msg.Message))}
	}
	return resp, nil
}

// statusError is an answer of the Engine API other than 2xx and 404.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

// Is makes a 409 errConflict.
func (e *statusError) Is(target error) bool {
	return target == errConflict && e.code == http.StatusConflict
}

// errConflict is the Engine API's 409: the container is in a state that
// forbids the call (a removal already in progress, say).
var errConflict = errors.New("conflict")

// Stream makes one call and returns its answer as it comes (an image
// archive, say), for the caller to read and close.
func (e *Engine) Stream(ctx context.Context, method, path string) (io.ReadCloser, error) {
	resp, err := e.send(ctx, method, path, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Hijack makes a call that upgrades the connection to a raw stream (the
// attach endpoint), and returns that stream.
func (e *Engine) Hijack(ctx context.Context, path string) (net.Conn, *bufio.Reader, error) {
	if err := checkSocket(Docker, e.socket); err != nil {
		return nil, nil, err
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "unix", e.socket)
	if err != nil {
		return nil, nil, unavailable(ctx, Docker, e.socket, err)
	}
	req, err := http.NewRequest(http.MethodPost, "http://docker"+path, nil)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "tcp")
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols && resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, nil, fmt.Errorf("docker: attach: %s", resp.Status)
	}
	return conn, br, nil
}
