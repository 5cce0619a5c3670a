package ports

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/thread"
)

// netns makes sockets in a target's network namespace.
//
// A socket belongs to the network namespace of the thread that created
// it, for its whole life, whatever thread uses it later. So one goroutine,
// locked to an OS thread of its own (thread.Dedicate), joins the target's
// namespace and from then on only creates sockets on request; the relay
// connects, reads and writes them on its own goroutine. That thread
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

// joinNetns starts the thread that joins the network namespace of the
// process pidfd names (with host set, tests', the thread stays in the
// host's).
func joinNetns(pidfd *os.File, host bool) (*netns, error) {
	n := &netns{
		reqs:   make(chan socketReq),
		spare:  make(chan int, spareCount),
		refill: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	joined := make(chan error, 1)
	thread.Dedicate(func() {
		// Never unlocked: see netns.
		if !host {
			if err := unix.Setns(int(pidfd.Fd()), unix.CLONE_NEWNET); err != nil {
				joined <- fmt.Errorf("join the target's network namespace: %w", os.NewSyscallError("setns", err))
				return
			}
		}
		joined <- nil
		for {
			// Only this goroutine sends on spare, so below its
			// capacity a send never blocks. On failure (out of
			// fds) the batch stops short, until the next request.
			for len(n.spare) < cap(n.spare) {
				fd, err := newSocket(unix.AF_INET)
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
				fd, err := newSocket(r.family)
				r.reply <- socketResult{fd, err}
			}
		}
	})
	if err := <-joined; err != nil {
		return nil, err
	}
	return n, nil
}

// newSocket makes a TCP socket of family, non-blocking, that sends small
// writes at once (as Go makes every TCP socket): a forwarded answer must
// not wait for an acknowledgement.
func newSocket(family int) (int, error) {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	noDelay(fd)
	return fd, nil
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

// socket returns a socket of family made in the namespace, non-blocking.
func (n *netns) socket(family int) (int, error) {
	if family == unix.AF_INET {
		select {
		case fd := <-n.spare:
			if len(n.spare) < spareLow {
				n.askRefill()
			}
			return fd, nil
		default:
			n.askRefill()
		}
	}
	reply := make(chan socketResult, 1)
	select {
	case n.reqs <- socketReq{family, reply}:
	case <-n.done:
		return -1, net.ErrClosed
	}
	r := <-reply
	return r.fd, r.err
}
