package ports

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseForward(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Forward
	}{
		{"6379", Forward{"127.0.0.1", 6379, 6379}},
		{"8080:80", Forward{"127.0.0.1", 8080, 80}},
		{":80", Forward{"127.0.0.1", 0, 80}},
		{"0.0.0.0:8080:80", Forward{"0.0.0.0", 8080, 80}},
		{"localhost:8080:80", Forward{"127.0.0.1", 8080, 80}},
		{"[::1]:8080:80", Forward{"::1", 8080, 80}},
		{"::1:8080:80", Forward{"::1", 8080, 80}},
		{"[::]::80", Forward{"::", 0, 80}},
	} {
		got, err := ParseForward(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseForward(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "0", "80:0", "x:80", "8080:", "65536", "-1:80", "host.example:1:2", "1:2:3", "08:80"} {
		if f, err := ParseForward(in); err == nil {
			t.Errorf("ParseForward(%q) = %+v, want an error", in, f)
		}
	}
}

// child starts a process to stand for the target, and opens its pidfd.
func child(t *testing.T) (*exec.Cmd, *os.File) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	fd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Skipf("pidfd_open: %v", err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	t.Cleanup(func() { f.Close() })
	return cmd, f
}

// echoServer stands for the target's server: it echoes lines.
func echoServer(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go echo(l)
	return l
}

// echo echoes what each connection l accepts sends, until l is closed.
func echo(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() { io.Copy(c, c); c.Close() }()
	}
}

// start runs Run, in the host's network namespace, forwarding to server,
// and returns the forwarded address and Run's result to come; warn (may
// be nil) is told of failed connections.
func start(t *testing.T, ctx context.Context, pidfd *os.File, server net.Listener, warn func(error)) (string, chan error) {
	t.Helper()
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	exited := errors.New("the target exited")
	go func() {
		done <- Run(ctx, Options{
			Pidfd:     pidfd,
			Exited:    exited,
			Forwards:  []Forward{{Address: "127.0.0.1", Local: 0, Remote: server.Addr().(*net.TCPAddr).Port}},
			Listening: func(_ Forward, a net.Addr) { addrs <- a.String() },
			Warn:      warn,
			host:      true,
		})
	}()
	select {
	case a := <-addrs:
		return a, done
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	return "", nil
}

func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader) {
	t.Helper()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("echo: %q, %v", line, err)
	}
}

func TestRunEndsOnCancelAndClosesEveryConnection(t *testing.T) {
	_, pidfd := child(t)
	server := echoServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := start(t, ctx, pidfd, server, nil)
	var conns []net.Conn
	for i := 0; i < 20; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		roundTrip(t, c, bufio.NewReader(c))
		conns = append(conns, c)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v, want nil", err)
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("a connection is still open after Run returned: %d, %v", n, err)
		}
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Errorf("%s still listens after Run returned", addr)
	}
}

func TestRunEndsWhenTheTargetExits(t *testing.T) {
	cmd, pidfd := child(t)
	server := echoServer(t)
	addr, done := start(t, context.Background(), pidfd, server, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c, bufio.NewReader(c))
	cmd.Process.Kill()
	select {
	case err := <-done:
		if err == nil || err.Error() != "the target exited" {
			t.Errorf("Run: %v, want the Exited error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end when the target exited")
	}
}
