// Package ports forwards ports of the host to ports inside a running
// target's network namespace (ctr-enter port-forward): a listener on the
// host, and for each connection it accepts, a connection made from inside
// the target's namespace to the target's loopback, so that a server bound
// to the container's 127.0.0.1 is reachable. Nothing runs inside the
// target, and nothing listens there: the forwarder only ever accepts on
// the host's side, so the target cannot reach the host through it.
package ports

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Forward is one [ADDRESS:]LOCAL:REMOTE of the command line.
type Forward struct {
	Address string // where the host listens, an IP address
	Local   int    // the host's port; 0 for any free one
	Remote  int    // the target's port
}

func (f Forward) String() string {
	return fmt.Sprintf("%s -> %d", net.JoinHostPort(f.Address, strconv.Itoa(f.Local)), f.Remote)
}

// ParseForward reads kubectl's forms: REMOTE (the same port on both
// sides), LOCAL:REMOTE, :REMOTE (any free local port), and any of those
// after an address to listen on (127.0.0.1:8080:80, [::1]:8080:80);
// the address is 127.0.0.1 by default.
func ParseForward(s string) (Forward, error) {
	f := Forward{Address: "127.0.0.1"}
	rest, remote := "", s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		rest, remote = s[:i], s[i+1:]
	}
	var err error
	if f.Remote, err = port(remote, false); err != nil {
		return f, fmt.Errorf("%q: remote port %w", s, err)
	}
	local := rest
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		addr := strings.TrimSuffix(strings.TrimPrefix(rest[:i], "["), "]")
		local = rest[i+1:]
		switch ip := net.ParseIP(addr); {
		case addr == "localhost":
		case ip == nil:
			return f, fmt.Errorf("%q: %q is not an IP address to listen on", s, addr)
		default:
			f.Address = ip.String()
		}
	}
	switch {
	case !strings.Contains(s, ":"):
		f.Local = f.Remote
	case local == "":
		f.Local = 0
	default:
		if f.Local, err = port(local, true); err != nil {
			return f, fmt.Errorf("%q: local port %w", s, err)
		}
	}
	return f, nil
}

func port(s string, zero bool) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !zero) || strconv.Itoa(n) != s {
		return 0, fmt.Errorf("%q: want a number from 1 to 65535", s)
	}
	return n, nil
}

// Options say what to forward, into which target.
type Options struct {
	// Pidfd is the validated target: its network namespace is joined
	// through it, and its exit ends the forwarding.
	Pidfd *os.File
	// Exited is the error to return when the target exits.
	Exited   error
	Forwards []Forward
	// Listening is told each forward's address once it listens.
	Listening func(f Forward, addr net.Addr)
	// Warn is told of a connection that failed (the target refused it).
	Warn func(error)

	// host keeps the sockets in the host's network namespace (tests).
	host bool
}

// connectTimeout bounds a connection to the target's port: a SYN that
// nothing answers (a firewall rule in the target) fails then.
const connectTimeout = 10 * time.Second

// copyBuffer is what one read takes. Measured on the bench's 2-CPU host
// (256 MiB, medians of 7, interleaved with a straight connection) with
// the goroutine copy this loop replaced: 32 KiB 0.87x, 64 KiB 0.99x, 256
// KiB and 1 MiB 0.84x; splice(2) 0.72x (it hands the received skbs'
// page fragments to the sending socket as they are, and the target's
// side then carries skbs of many small fragments, each with its own
// work).
const copyBuffer = 64 << 10

// Run listens on every forward and forwards each connection until ctx
// ends (nil) or the target exits (o.Exited); then it closes every
// listener and connection, and returns once all are closed.
func Run(ctx context.Context, o Options) error {
	if o.Warn == nil {
		o.Warn = func(error) {}
	}
	// Joined first: a target that cannot be joined fails before
	// anything listens.
	ns, err := joinNetns(o.Pidfd, o.host)
	if err != nil {
		return err
	}
	defer ns.close()
	r, err := newRelay(ns, o.Pidfd, o.Warn)
	if err != nil {
		return err
	}
	if err := listen(r, o); err != nil {
		r.close()
		return err
	}
	done := make(chan error, 1)
	go func() { done <- r.run() }()
	stop := context.AfterFunc(ctx, r.stop)
	defer stop()
	if err := <-done; !errors.Is(err, errExited) {
		return err
	}
	return o.Exited
}

// listen makes o's listeners, and gives them to r.
func listen(r *relay, o Options) error {
	for _, fw := range o.Forwards {
		addr := net.JoinHostPort(fw.Address, strconv.Itoa(fw.Local))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		err = r.listen(l, fw)
		l.Close() // r has its own
		if err != nil {
			return err
		}
		if o.Listening != nil {
			o.Listening(fw, l.Addr())
		}
	}
	return nil
}
