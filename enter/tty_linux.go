package enter

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/term"
	"github.com/ctr-enter/ctr-enter/resolve"
)

// openPty allocates the command's terminal. Inside the target's mount
// namespace it comes from the target's own devpts, so that `tty` there names
// a /dev/pts/N that exists (as with docker exec -t); otherwise from the
// host's. Never the operator's own terminal: a process of the target could
// push keystrokes into it with TIOCSTI.
//
// The ptmx is opened without following the target's links, checked to be a
// ptmx on a devpts, and the peer is taken with TIOCGPTPEER rather than by
// path: the target controls its /dev and could put anything at
// /dev/pts/N (CVE-2025-52881, CVE-2025-52565).
func openPty(p *resolve.Process, inTarget bool) (master, slave *os.File, err error) {
	if inTarget {
		master, err = openTargetPtmx(p)
	} else {
		master, err = os.OpenFile("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, nil, err
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, os.NewSyscallError("unlockpt", err)
	}
	// TIOCGPTPEER takes the peer's open flags as its argument.
	fd, _, errno := unix.Syscall(unix.SYS_IOCTL, master.Fd(), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		master.Close()
		return nil, nil, os.NewSyscallError("ioctl TIOCGPTPEER", errno)
	}
	return master, os.NewFile(fd, "pty"), nil
}

// openTargetPtmx opens the target's /dev/pts/ptmx only once it is known to
// be a ptmx on a devpts: the target may have put any device node there (a
// host disk, a watchdog), and opening one from the host acts on the host.
func openTargetPtmx(p *resolve.Process) (*os.File, error) {
	path, err := p.OpenInRoot("/dev/pts/ptmx", unix.O_PATH)
	if err != nil {
		return nil, fmt.Errorf("open ptmx: %w", err)
	}
	defer path.Close()
	if err := checkPtmx(path); err != nil {
		return nil, err
	}
	master, err := resolve.Reopen(path, unix.O_RDWR|unix.O_NOCTTY)
	if err != nil {
		return nil, fmt.Errorf("open ptmx: %w", err)
	}
	if err := p.Check(); err != nil {
		master.Close()
		return nil, err
	}
	return master, nil
}

// checkPtmx checks that f (an O_PATH handle will do) names a devpts
// instance's own ptmx, the character device 5:2.
func checkPtmx(f *os.File) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return os.NewSyscallError("fstat ptmx", err)
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &fs); err != nil {
		return os.NewSyscallError("fstatfs ptmx", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 5 || unix.Minor(st.Rdev) != 2 {
		return fmt.Errorf("%s is not a ptmx device", f.Name())
	}
	if fs.Type != unix.DEVPTS_SUPER_MAGIC {
		return fmt.Errorf("%s is not on a devpts filesystem", f.Name())
	}
	return nil
}

// terminal is the operator's side of a -t session: raw mode, the window
// size, and the relay between the operator and the pty master.
type terminal struct {
	master     *os.File
	in, out    *os.File
	restore    func()
	stopFollow func()
	outDone    chan struct{}
	relayIn    bool
	started    bool
}

func newTerminal(master, in, out *os.File, interactive bool) (*terminal, error) {
	t := &terminal{master: master, in: in, out: out, restore: func() {}, outDone: make(chan struct{}), relayIn: interactive}
	if interactive && term.IsTerminal(in) {
		restore, err := term.MakeRaw(in)
		if err != nil {
			return nil, err
		}
		t.restore = restore
	}
	// The size is copied before the command starts, so that it starts
	// with the operator's, and then on every change.
	t.stopFollow = term.FollowSize(func(ws *unix.Winsize) { unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws) }, in, out)
	return t, nil
}

// start relays until the command's side of the pty is closed.
func (t *terminal) start() {
	t.started = true
	if t.relayIn {
		// Abandoned at the end: it may be blocked reading the
		// operator's terminal.
		go io.Copy(t.master, t.in)
	}
	go func() {
		// Reading the master fails with EIO once every holder of the
		// slave has closed it.
		io.Copy(t.out, t.master)
		close(t.outDone)
	}()
}

// finish waits for the output to drain, briefly: a background process of
// the command may hold the pty open for ever.
func (t *terminal) finish() {
	if t.started {
		select {
		case <-t.outDone:
		case <-time.After(500 * time.Millisecond):
		}
	}
	t.stopFollow()
	t.master.Close()
	t.restore()
}
