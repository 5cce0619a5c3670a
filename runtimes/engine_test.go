package runtimes

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDockerSocket(t *testing.T) {
	for _, tc := range []struct{ host, socket, err string }{
		{"unix:///var/run/docker.sock", "/var/run/docker.sock", ""},
		// A bare absolute path is taken as the socket.
		{"/run/docker.sock", "/run/docker.sock", ""},
		{"unix://var/run/docker.sock", "", `docker: --docker-host/DOCKER_HOST "unix://var/run/docker.sock": the socket path must be absolute (the form is unix:///PATH, e.g. unix:///var/run/docker.sock)`},
		{"tcp://10.0.0.1:2375", "", `only a unix socket on this host can be used (the form is unix:///PATH`},
		{"docker.sock", "", `not a unix socket URL (the form is unix:///PATH`},
	} {
		got, err := dockerSocket(tc.host)
		switch {
		case tc.err == "" && (err != nil || got != tc.socket):
			t.Errorf("dockerSocket(%q) = %q, %v; want %q", tc.host, got, err, tc.socket)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("dockerSocket(%q) error = %v; want one with %q", tc.host, err, tc.err)
		case tc.err != "" && !errors.Is(err, ErrUnavailable):
			t.Errorf("dockerSocket(%q) error %v is not ErrUnavailable", tc.host, err)
		}
	}
}

func TestUnavailableCauses(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.sock")
	err := checkSocket(Docker, missing)
	if !errors.Is(err, ErrNoDaemon) || !errors.Is(err, ErrUnavailable) {
		t.Errorf("missing socket: %v is not ErrNoDaemon and ErrUnavailable", err)
	}
	if got, want := Cause(err), "docker: "+missing+" does not exist"; got != want {
		t.Errorf("Cause = %q, want %q", got, want)
	}
	if got, want := err.Error(), "runtime unavailable: docker: "+missing+" does not exist"; got != want {
		t.Errorf("Error = %q, want %q", got, want)
	}

	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	if err := checkSocket(Containerd, file); errors.Is(err, ErrNoDaemon) || Cause(err) != "containerd: "+file+" is not a socket" {
		t.Errorf("not a socket: %v", err)
	}

	// A socket file nobody listens on any more.
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	e, _ := NewEngine("unix://" + stale)
	err = e.Do(context.Background(), "GET", "/_ping", nil, nil)
	if got, want := Cause(err), "docker: "+stale+" refuses connections (is docker running?)"; got != want {
		t.Errorf("refused: Cause = %q, want %q", got, want)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got, want := Cause(unavailable(ctx, Containerd, "/c.sock", context.Canceled)), "containerd: no answer on /c.sock within --timeout"; got != want {
		t.Errorf("timeout: Cause = %q, want %q", got, want)
	}
	if got := Cause(errors.New("plain")); got != "plain" {
		t.Errorf("Cause of a plain error = %q", got)
	}
}
