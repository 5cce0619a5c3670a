package enter

import (
	"io"
	"os"
	"os/exec"
)

// setStdio connects the command's stdio. Only pipes are handed over as they
// are: a terminal would let the target inject keystrokes into the
// operator's shell (TIOCSTI) and read what is typed there, and a host file
// or socket could be reopened through /proc/PID/fd by the target. Anything
// else is relayed through a pipe. The returned function stops the stdin
// relay.
func setStdio(cmd *exec.Cmd, opts Options) (func(), error) {
	cmd.Stdout = relayed(opts.Stdout)
	cmd.Stderr = relayed(opts.Stderr)
	if !opts.Interactive || opts.Stdin == nil {
		return func() {}, nil // exec.Cmd gives the command /dev/null
	}
	if isPipe(opts.Stdin) {
		cmd.Stdin = opts.Stdin
		return func() {}, nil
	}
	// exec.Cmd's own relay for stdin would keep Wait blocked until the
	// operator types something after the command exited; this one is
	// abandoned instead.
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdin = r
	go func() {
		io.Copy(w, opts.Stdin)
		w.Close()
	}()
	return func() { r.Close(); w.Close() }, nil
}

// relayed returns f itself if it is a pipe, and otherwise a writer that
// exec.Cmd relays through a pipe of its own.
func relayed(f *os.File) io.Writer {
	if f == nil {
		return nil
	}
	if isPipe(f) {
		return f
	}
	return struct{ io.Writer }{f}
}

func isPipe(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeNamedPipe != 0
}
