// Package term is the operator's terminal: whether a file is one, raw mode,
// and following its window size, for a local pty (enter -t) and for a
// runtime's resize call (ephemeral containers) alike.
package term

import (
	"errors"
	"fmt"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// MakeRaw puts the operator's terminal in raw mode (cfmakeraw), so that
// every key, Ctrl-C included, travels to the command's terminal as a
// character, and returns the function that restores it.
func MakeRaw(f *os.File) (func(), error) {
	return setMode(f, func(raw *unix.Termios) {
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	})
}

// MakeRawOutput turns off the output processing of the operator's
// terminal only, and returns the function that restores it. For a
// command that has a terminal of its own but not the operator's input
// (-t without -i): that terminal already turned "\n" into "\r\n", and
// the operator's, left cooked, would make it "\r\r\n". Input stays
// cooked: Ctrl-C is still ctr-enter's SIGINT, keys still echo.
func MakeRawOutput(f *os.File) (func(), error) {
	return setMode(f, func(raw *unix.Termios) { raw.Oflag &^= unix.OPOST })
}

// setMode changes the terminal f's mode with change and returns the
// function that puts the old mode back.
func setMode(f *os.File, change func(*unix.Termios)) (func(), error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, os.NewSyscallError("tcgetattr", err)
	}
	mode := *old
	change(&mode)
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &mode); err != nil {
		return nil, os.NewSyscallError("tcsetattr", err)
	}
	return func() {
		// TCSETSF: discard what the operator typed that nobody read.
		if err := unix.IoctlSetTermios(fd, unix.TCSETSF, old); err != nil && !errors.Is(err, unix.EBADF) {
			fmt.Fprintf(os.Stderr, "ctr-enter: restore terminal: %v\n", err)
		}
	}, nil
}

// Size is the window size of the first of files that is a terminal; nil
// if none is.
func Size(files ...*os.File) *unix.Winsize {
	for _, f := range files {
		if f == nil {
			continue
		}
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil {
			return ws
		}
	}
	return nil
}

// FollowSize calls resize with the window size of the first of files that
// is a terminal, now and on every SIGWINCH, until the returned function is
// called. Nothing is sent while none of them is a terminal.
func FollowSize(resize func(*unix.Winsize), files ...*os.File) (stop func()) {
	send := func() {
		if ws := Size(files...); ws != nil {
			resize(ws)
		}
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	send()
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				send()
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(winch); close(done) }
}
