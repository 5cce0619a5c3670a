package resolve

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
	"net/url"
	"os"
	"strings"

	"github.com/ctr-enter/ctr-enter/internal/text"
)

// docker talks to the Engine API over its unix socket with plain HTTP: the
// three calls ctr-enter needs do not justify a client library. Paths carry
// no API version, so the daemon answers in its own; the fields used here
// have been stable since API 1.24.
type docker struct {
	socket string
	http   *http.Client
}

func newDocker(host string) (*docker, error) {
	socket, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		return nil, fmt.Errorf("%w: DOCKER_HOST=%s: only unix sockets are supported (the target must be on this host)", ErrUnavailable, text.Clean(host))
	}
	d := &docker{socket: socket}
	d.http = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "unix", socket)
		},
	}}
	return d, nil
}

func (d *docker) name() string { return Docker }

func (d *docker) close() error {
	d.http.CloseIdleConnections()
	return nil
}

func (d *docker) get(ctx context.Context, path string, out any) error {
	return d.do(ctx, http.MethodGet, path, nil, out)
}

// do makes one Engine API call: in, if not nil, is sent as JSON, and out,
// if not nil, receives the JSON answer. A 404 is ErrNotFound; any other
// failure says what the daemon said.
func (d *docker) do(ctx context.Context, method, path string, in, out any) error {
	resp, err := d.send(ctx, method, path, in)
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
func (d *docker) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	if err := checkSocket(Docker, d.socket); err != nil {
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
	resp, err := d.http.Do(req)
	if err != nil {
		return nil, unavailable(ctx, Docker, d.socket, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		resp.Body.Close()
		return nil, ErrNotFound
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var msg struct{ Message string }
		json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&msg)
		return nil, fmt.Errorf("docker: %s %s: %s: %s", method, path, resp.Status, text.Clean(msg.Message))
	}
	return resp, nil
}

func (d *docker) list(ctx context.Context) ([]*Target, error) {
	var cs []struct {
		ID     string `json:"Id"`
		Names  []string
		Image  string
		State  string
		Labels map[string]string
	}
	if err := d.get(ctx, "/containers/json?all=1", &cs); err != nil {
		return nil, err
	}
	ts := make([]*Target, 0, len(cs))
	for _, c := range cs {
		t := &Target{Runtime: Docker, Namespace: "moby", ID: c.ID, Image: c.Image, Labels: c.Labels, Status: c.State, Running: c.State == "running"}
		for _, n := range c.Names {
			// The API names containers "/name"; links add "/other/alias".
			if n = strings.TrimPrefix(n, "/"); !strings.Contains(n, "/") {
				t.names = append(t.names, n)
			}
		}
		t.Name = c.ID
		if len(t.names) > 0 {
			t.Name = t.names[0]
		}
		ts = append(ts, t)
	}
	return ts, nil
}

func (d *docker) describe(ctx context.Context, t *Target) error {
	var c struct {
		State struct {
			Running bool
			Pid     int
		}
		Config struct {
			Env        []string
			WorkingDir string
		}
		HostConfig struct {
			CgroupParent string
		}
	}
	err := d.get(ctx, "/containers/"+url.PathEscape(t.ID)+"/json", &c)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %s was removed", ErrVanished, t)
	}
	if err != nil {
		return err
	}
	t.Running = c.State.Running && c.State.Pid > 0
	t.PID = c.State.Pid
	t.Env = c.Config.Env
	t.Cwd = c.Config.WorkingDir
	if t.Env == nil {
		t.Env = []string{}
	}
	if t.Running {
		if t.cgroups, err = dockerCgroups(t.ID, c.HostConfig.CgroupParent); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrUnverifiable, t, err)
		}
	}
	return nil
}

// checkSocket tells a runtime that is not installed (no socket) from one
// that is, before any dialing: a missing socket otherwise costs the
// whole timeout in some clients.
func checkSocket(runtime, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return &noDaemonError{runtime, path}
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%w: %s: %s is not a socket", ErrUnavailable, runtime, path)
	}
	return nil
}

// noDaemonError says a runtime is not installed or not started here.
type noDaemonError struct{ runtime, socket string }

func (e *noDaemonError) Error() string {
	return fmt.Sprintf("%s is not running here (no socket at %s)", e.runtime, e.socket)
}

func (e *noDaemonError) Unwrap() error { return ErrUnavailable }

// unavailable turns a failed call into a line that says which daemon did not
// answer and why.
func unavailable(ctx context.Context, runtime, socket string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %s: no answer on %s before the deadline", ErrUnavailable, runtime, socket)
	}
	return fmt.Errorf("%w: %s: %s: %w", ErrUnavailable, runtime, socket, err)
}

// DockerClient is the Engine API client the runtime-backed commands
// (attach) use, on the socket opts names.
type DockerClient struct{ d *docker }

// NewDockerClient connects to opts.DockerHost.
func NewDockerClient(opts Options) (*DockerClient, error) {
	d, err := newDocker(opts.DockerHost)
	if err != nil {
		return nil, err
	}
	return &DockerClient{d}, nil
}

// Do makes one API call (see docker.do).
func (c *DockerClient) Do(ctx context.Context, method, path string, in, out any) error {
	return c.d.do(ctx, method, path, in, out)
}

// Stream makes one call and returns its answer as it comes (an image
// archive, say), for the caller to read and close.
func (c *DockerClient) Stream(ctx context.Context, method, path string) (io.ReadCloser, error) {
	resp, err := c.d.send(ctx, method, path, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func (c *DockerClient) Close() error { return c.d.close() }

// Hijack makes a call that upgrades the connection to a raw stream (the
// attach endpoint), and returns that stream.
func (c *DockerClient) Hijack(ctx context.Context, path string) (net.Conn, *bufio.Reader, error) {
	if err := checkSocket(Docker, c.d.socket); err != nil {
		return nil, nil, err
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "unix", c.d.socket)
	if err != nil {
		return nil, nil, unavailable(ctx, Docker, c.d.socket, err)
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
