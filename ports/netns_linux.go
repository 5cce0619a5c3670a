package ports

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/thread"
)

// netns makes sockets in a target's network namespace.
//
// A socket belongs to the network namespace of the thread that created
// it, for its whole life, whatever thread uses it later. So one goroutine,
// locked to an OS thread of its own (thread.Dedicate), joins the target's namespace and from then on
// only creates sockets on request; connecting, reading and writing happen
// on any goroutine, through Go's poller, as for any socket. That thread
// is never unlocked (containerd's mountAt does the same): unlocked, the
// runtime would hand a thread that is in the target's namespace to any
// goroutine, and the host's listeners, or the runtimes' clients, could
// end up made there. When the goroutine returns, still locked, the
// runtime ends the thread.
//
// The thread keeps IPv4 sockets made ahead (spare), and makes them in
// batches: a connection then neither waits for that thread to be
// scheduled nor, most of the time, wakes it. Made one at a time, the
// thread was woken once per connection (a context switch, and a handoff
// of a P to the locked thread when the runtime's Ps are busy), just when
// the client, the server and the copy need the CPUs; it is now woken once
// per spareCount-spareLow connections.
type netns struct {
	reqs   chan socketReq
	spare  chan int
	refill chan struct{}
	done   chan struct{}
}

// spareCount sockets are kept made ahead; the thread is asked for more
// once fewer than spareLow are left.
const (
	spareCount = 16
	spareLow   = 8
)

type socketReq struct {
	family int
	reply  chan socketResult
}

type socketResult struct {
	fd  int
	err error
}

// connectTimeout bounds a connection to the target's port: a SYN that
// nothing answers (a firewall rule in the target) fails then.
const connectTimeout = 10 * time.Second

// joinNetns starts the thread that joins the network namespace of the
// process pidfd names.
func joinNetns(pidfd *os.File) (*netns, error) {
	n := &netns{
		reqs:   make(chan socketReq),
		spare:  make(chan int, spareCount),
		refill: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	joined := make(chan error, 1)
	thread.Dedicate(func() {
		// Never unlocked: see netns.
		if err := unix.Setns(int(pidfd.Fd()), unix.CLONE_NEWNET); err != nil {
			joined <- fmt.Errorf("join the target's network namespace: %w", os.NewSyscallError("setns", err))
			return
		}
		joined <- nil
		for {
			// Only this goroutine sends on spare, so below its
			// capacity a send never blocks. On failure (out of
			// fds) the batch stops short, until the next request.
			for len(n.spare) < cap(n.spare) {
				fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					break
				}
				n.spare <- fd
			}
			select {
			case <-n.done:
				for {
					select {
					case fd := <-n.spare:
						unix.Close(fd)
					default:
						return
					}
				}
			case <-n.refill:
			case r := <-n.reqs:
				fd, err := unix.Socket(r.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					r.reply <- socketResult{-1, os.NewSyscallError("socket", err)}
					continue
				}
				r.reply <- socketResult{fd, nil}
			}
		}
	})
	if err := <-joined; err != nil {
		return nil, err
	}
	return n, nil
}

func (n *netns) close() { close(n.done) }

// askRefill wakes the thread to make a batch of spares, unless it has
// been asked already.
func (n *netns) askRefill() {
	select {
	case n.refill <- struct{}{}:
	default:
	}
}

// socket returns a socket of the family made in the namespace,
// non-blocking, so that os.NewFile registers it with Go's poller.
func (n *netns) socket(ctx context.Context, family int) (*os.File, error) {
	if family == unix.AF_INET {
		select {
		case fd := <-n.spare:
			if len(n.spare) < spareLow {
				n.askRefill()
			}
			return os.NewFile(uintptr(fd), "socket"), nil
		default:
			n.askRefill()
		}
	}
	reply := make(chan socketResult, 1)
	select {
	case n.reqs <- socketReq{family, reply}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-n.done:
		return nil, net.ErrClosed
	}
	r := <-reply
	if r.err != nil {
		return nil, r.err
	}
	return os.NewFile(uintptr(r.fd), "socket"), nil
}

// dial connects to port on the target's loopback: 127.0.0.1, then ::1 if
// nothing answers on the first (a server may listen on either alone).
func (n *netns) dial(ctx context.Context, port int) (net.Conn, error) {
	var first error
	for _, to := range []struct {
		family int
		sa     unix.Sockaddr
		addr   string
	}{
		{unix.AF_INET, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}, fmt.Sprintf("127.0.0.1:%d", port)},
		{unix.AF_INET6, &unix.SockaddrInet6{Port: port, Addr: [16]byte{15: 1}}, fmt.Sprintf("[::1]:%d", port)},
	} {
		f, err := n.socket(ctx, to.family)
		if err == nil {
			err = connect(ctx, f, to.sa)
			if err == nil {
				// FileConn dups the socket into a net.Conn.
				c, err := net.FileConn(f)
				f.Close()
				return c, err
			}
			f.Close()
		}
		err = fmt.Errorf("connect to %s in the target: %w", to.addr, err)
		switch {
		case first == nil:
			first = err
		case !absent(err):
			return nil, err // ::1 is there, and refuses or fails
		}
		if !errors.Is(err, unix.ECONNREFUSED) && !absent(err) {
			return nil, err
		}
	}
	return nil, first
}

// absent is a failure that says the address family or the address is not
// there at all (IPv6 disabled, no ::1 on the target's lo).
func absent(err error) bool {
	return errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.ENETUNREACH)
}

// connect connects the non-blocking socket f to sa, waiting through Go's
// poller (f was made non-blocking, so os.NewFile registered it) as
// net.Dial does: SO_ERROR says how it ended, and a wakeup before the end
// (the poller may wake spuriously) is waited out.
func connect(ctx context.Context, f *os.File, sa unix.Sockaddr) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	if err := rc.Control(func(fd uintptr) {
		cerr = unix.Connect(int(fd), sa)
	}); err != nil {
		return err
	}
	switch {
	case cerr == nil, errors.Is(cerr, unix.EISCONN):
		return nil
	case !errors.Is(cerr, unix.EINPROGRESS) && !errors.Is(cerr, unix.EINTR):
		return os.NewSyscallError("connect", cerr)
	}
	deadline := time.Now().Add(connectTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	f.SetWriteDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	werr := rc.Write(func(fd uintptr) bool {
		soerr, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			cerr = os.NewSyscallError("getsockopt", err)
			return true
		}
		switch e := unix.Errno(soerr); e {
		case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
			return false
		case 0:
			if _, err := unix.Getpeername(int(fd)); err != nil {
				return false // not connected yet: a spurious wakeup
			}
			cerr = nil
			return true
		default:
			cerr = os.NewSyscallError("connect", e)
			return true
		}
	})
	if werr != nil {
		return werr
	}
	return cerr
}

// exitWatch says when the process behind a pidfd exits: the pidfd
// becomes readable then.
type exitWatch struct{ f *os.File }

// watchExit watches the process pidfd names, through a duplicate in
// non-blocking mode, which Go's poller waits on.
func watchExit(pidfd *os.File) (*exitWatch, error) {
	fd, err := unix.FcntlInt(pidfd.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("dup pidfd", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	return &exitWatch{os.NewFile(uintptr(fd), "pidfd")}, nil
}

// wait returns true once the process has exited, false once Close was
// called.
func (w *exitWatch) wait() bool {
	rc, err := w.f.SyscallConn()
	if err != nil {
		return false
	}
	exited := false
	err = rc.Read(func(fd uintptr) bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		exited = err == nil && n == 1
		return exited
	})
	return err == nil && exited
}

func (w *exitWatch) Close() error { return w.f.Close() }
