// Package enter runs a command inside a target's namespaces.
//
// The parent (this package, in the multithreaded Go process) decides and
// opens everything while it still sees the host: which namespaces differ,
// the environment, the working directory, the payload's executable. It then
// re-executes ctr-enter from a sealed view of its binary, and the
// constructor in package nsexec joins the namespaces, before any Go runtime
// exists, and executes the payload.
package enter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/enter/nsexec"
	"github.com/ctr-enter/ctr-enter/internal/nskind"
	"github.com/ctr-enter/ctr-enter/internal/passwd"
	"github.com/ctr-enter/ctr-enter/internal/text"
	"github.com/ctr-enter/ctr-enter/resolve"
)

// Options describes the command to run and how.
type Options struct {
	// Namespaces are the kinds to join; zero means every kind in which the
	// target differs from ctr-enter. Kinds the target shares with
	// ctr-enter are never joined: there is nothing to join.
	Namespaces nskind.Set
	Args       []string // the command and its arguments; none: a shell
	// Env is KEY=VALUE, on top of the target's environment and EnvFiles';
	// a bare NAME takes LookupEnv's value, or removes NAME if it has none
	// (docker exec -e).
	Env []string
	// EnvFiles are files of docker's --env-file format, read in order
	// before Env.
	EnvFiles []string
	// LookupEnv is where a bare NAME takes its value: os.LookupEnv if nil.
	LookupEnv func(string) (string, bool)
	Workdir   string // "" means the target's, when its mount namespace is joined
	// Interactive streams Stdin to the command (docker exec -i); otherwise
	// the command's stdin is /dev/null.
	Interactive bool
	// TTY gives the command a terminal of its own (docker exec -t), relayed
	// to Stdin and Stdout, with the operator's terminal in raw mode.
	TTY bool
	// AsTarget runs the command as the target's processes run: its uid
	// and gids, capabilities, no_new_privs, seccomp filters and cgroups.
	// Otherwise it keeps ctr-enter's privileges, as with nsenter.
	AsTarget bool
	// User runs the command as USER[:GROUP] (docker exec -u), names looked
	// up in the target's files.
	User string
	// Tools mounts debug tools into the session, read-only, at ToolsDir
	// and on PATH after the target's own: OwnTools, or an unpacked image
	// (ImageTools). Left unset, OwnTools come anyway when the target has
	// no shell to run or lacks the command.
	Tools Tools
	// Cache is ctr-enter's cache directory, where the tools' launchers
	// are made once (launchers_linux.go): images.Options.Root's.
	Cache string
	// TrustTarget enters the target's pid namespace even when its
	// processes may hold CAP_SYS_PTRACE over ctr-enter's (see
	// refusePtracer).
	TrustTarget bool
	// Detach starts the command and returns once it is executing, its
	// stdio /dev/null, without waiting for it (docker exec -d): it runs
	// on after ctr-enter exits, and its status is never known.
	Detach                bool
	Stdin, Stdout, Stderr *os.File
}

// defaultPath is what docker exec gives a command when the target's
// environment has no PATH.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Run runs opts.Args in p's namespaces and returns its exit status (128+N
// when a signal N killed it). An error is ctr-enter's own failure, or the
// command's failure to start; it is an *Error with the exit code to use.
func Run(ctx context.Context, p *resolve.Process, opts Options) (int, error) {
	s, err := decide(p, opts)
	if err != nil {
		return 0, err
	}
	return s.launch(p, opts)
}

// session is what Run decided, before anything is opened for the child.
type session struct {
	join  nskind.Set
	args  []string // the command, or the shell; the host's payload is resolved at launch
	env   []string
	tools Tools
	creds credentials
	// user is --user's, looked up in the target once, for HOME and the
	// confinement alike.
	user *passwd.ExecUser
	// users reads the target's /etc/passwd once, for whichever of the
	// shell, HOME and --user needs it.
	users func() ([]passwd.User, error)
	// plan has everything but its fds, which launch opens.
	plan nsexec.Plan
	// stop, when closed, kills the session (RunOffline's context).
	stop <-chan struct{}
}

// credentials says whose credentials the command takes on beyond what the
// plan's IDs say.
type credentials int

const (
	ownCredentials    credentials = iota // ctr-enter's, as with nsenter
	targetCredentials                    // the target's processes' (--as-target)
	userCredentials                      // Options.User's, looked up in the target (--user)
)

// inMount says whether the command runs in the target's mount namespace,
// and so finds its files there.
func (s *session) inMount() bool { return s.join.Has(nskind.Mount) }

// decide works out what the session will be: the namespaces to join, the
// command, its environment, tools, credentials and working directory. It
// reads the target's facts and refuses what must not run, but opens nothing
// for the child.
func decide(p *resolve.Process, opts Options) (*session, error) {
	join, err := namespacesToJoin(p, opts.Namespaces)
	if err != nil {
		return nil, toolError(err)
	}
	s := &session{join: join, args: opts.Args, tools: opts.Tools,
		users: sync.OnceValues(func() ([]passwd.User, error) { return targetUsers(p) })}
	inMount := s.inMount()
	if err := s.commandAndEnv(p, func() (int, error) { return targetUID(p) }, inMount, p.Environ, opts); err != nil {
		return nil, toolError(err)
	}
	if s.tools.none() && inMount && !inTarget(p, s.args[0], s.env) {
		// Not the target's: the tools may have it (ps in a scratch image).
		s.tools = OwnTools
	}
	// Outside the target's mount namespace, with its pid namespace or
	// with tools asked for, the command gets a root of its own, made of
	// the read-only tools (ctr-enter's own unless an image's), with the
	// target's root at /target and a procfs of its pid namespace: in the
	// target's pid namespace, the host's root and working directory
	// would show to the target through /proc/PID/root and /proc/PID/cwd,
	// and the image's tools need a root to run in (--net --image, the
	// netshoot pattern).
	ownRoot := !inMount && (join.Has(nskind.PID) || !s.tools.none())
	if ownRoot && s.tools.none() {
		s.tools = OwnTools
	}
	if !s.tools.none() {
		withToolPath(s.env)
	}
	if join.Has(nskind.PID) && !opts.TrustTarget {
		if err := refusePtracer(p); err != nil {
			return nil, toolError(err)
		}
	}

	s.plan = nsexec.Plan{Namespaces: join, OwnRoot: ownRoot, TTY: opts.TTY, Detach: opts.Detach,
		Stop: os.Getenv("CTR_ENTER_TEST_STOP") == "at-exec"}
	if ownRoot {
		// For the target's root only (nsexec.c mount_session_root): the
		// session's mount namespace is a copy.
		shared, err := p.SharesNamespace(nskind.Mount.String())
		if err != nil {
			return nil, toolError(err)
		}
		if !shared {
			s.plan.Namespaces |= nskind.Mount
		}
	}
	switch {
	case opts.AsTarget && opts.User != "":
		return nil, toolError(errors.New("--as-target and --user exclude each other: the target's user comes with --as-target"))
	case opts.AsTarget:
		s.creds = targetCredentials
	case opts.User != "":
		s.creds = userCredentials
		if s.user, err = lookupUser(p, opts.User, s.users); err != nil {
			return nil, toolError(err)
		}
	case join.Has(nskind.User):
		// As nsenter does: root of the joined user namespace, which is
		// what holds the capabilities there.
		s.plan.IDs = &nsexec.IDs{UID: 0, GID: 0}
	}
	if err := s.dockerDefaults(p); err != nil {
		return nil, toolError(err)
	}
	switch {
	case opts.Workdir != "":
		s.plan.Cwd = opts.Workdir
	case inMount:
		s.plan.Cwd = p.Cwd
		if s.plan.Cwd == "" {
			s.plan.Cwd = "/"
		}
	case ownRoot:
		s.plan.Cwd = "/"
	}
	return s, nil
}

// commandAndEnv settles the command, the target's shell if none was given
// (the tools' where the target has none), and its environment: base with
// the operator's variables on top. uid is the target user's.
func (s *session) commandAndEnv(files targetFiles, uid func() (int, error), inMount bool, base func() ([]string, error), opts Options) error {
	if len(s.args) == 0 {
		sh, err := shell(files, uid, inMount, s.users)
		if errors.Is(err, ErrNoShell) && inMount {
			if s.tools.none() {
				s.tools = OwnTools
			}
			sh, err = toolShell(s.tools.root())
		}
		if err != nil {
			return err
		}
		s.args = []string{sh}
	}
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	extra, err := explicitEnv(opts.EnvFiles, opts.Env, lookup)
	if err != nil {
		return err
	}
	env, err := base()
	if err != nil {
		return err
	}
	s.env = mergeEnv(env, extra, opts.TTY)
	return nil
}

// launch opens what the child needs, starts it, relays the session and
// waits for its end.
func (s *session) launch(p *resolve.Process, opts Options) (int, error) {
	pl := s.plan // the fds are this launch's
	pl.Pidfd = p.Pidfd
	var err error
	if s.creds != ownCredentials {
		var conf *confinement
		if s.creds == targetCredentials {
			conf, err = readConfinement(p, s.join.Has(nskind.User))
		} else {
			conf, err = userConfinement(p, s.user)
		}
		if err != nil {
			return 0, toolError(err)
		}
		defer conf.close()
		if pl.Confinement, err = sealedCopy("ctr-enter-confine", bytes.NewReader(conf.encode())); err != nil {
			return 0, toolError(err)
		}
		defer pl.Confinement.Close()
		pl.Cgroups = conf.cgroups
	}

	args := s.args
	if !s.inMount() && s.tools.image == "" {
		// The payload comes from the host's filesystem; inside the
		// target's mount namespace, or in a root of an image's tools,
		// it is looked up there instead, by the constructor.
		if args, pl.Payload, err = hostPayload(args); err != nil {
			return 0, err
		}
		defer pl.Payload.Close()
	}
	return s.start(pl, args, func() (*os.File, *os.File, error) { return openPty(p, s.inMount()) }, opts)
}

// start opens the tools and the rest every plan needs, starts the
// constructor with args as the payload's, and runs the session (run).
func (s *session) start(pl nsexec.Plan, args []string, pty func() (master, slave *os.File, err error), opts Options) (int, error) {
	var err error
	if !s.tools.none() {
		tree := s.tools.tree()
		if pl.Tools, err = toolsView(tree.root); err != nil {
			return 0, toolError(err)
		}
		defer pl.Tools.Close()
		if pl.Launchers, err = launchersView(opts.Cache, tree); err != nil {
			return 0, toolError(err)
		}
		defer pl.Launchers.Close()
	}
	if pl.Self, err = openSealed("/proc/self/exe"); err != nil {
		return 0, toolError(fmt.Errorf("seal own executable: %w", err))
	}
	defer pl.Self.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		return 0, toolError(err)
	}
	defer errR.Close()
	defer errW.Close() // on the ways out before Start; closed after it too
	pl.ErrPipe = errW

	cmd := pl.Command(args, s.env)
	// A session of its own, without the operator's controlling
	// terminal: a command of the target that kept it could push
	// keystrokes into the operator's shell (TIOCSTI) and read what
	// is typed there. Signals are relayed instead (forwardSignals).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// A command that leaves a background process holding its
	// output must not keep ctr-enter waiting for ever.
	cmd.WaitDelay = time.Second
	// Once the payload runs, the views are the child's alone: the last
	// close of a detached mount waits for an expedited RCU grace period
	// (about 0.1 ms each on these machines), so they are closed while
	// the payload runs rather than after it.
	views := []*os.File{pl.Self, pl.Payload, pl.Tools, pl.Launchers}
	return s.run(pty, cmd, errR, errW, views, opts)
}

// run connects the command's stdio, starts it, relays signals and the
// terminal, and returns its status or the constructor's report. errW is
// closed once the child holds it; pty opens the command's terminal.
func (s *session) run(pty func() (master, slave *os.File, err error), cmd *exec.Cmd, errR, errW *os.File, views []*os.File, opts Options) (int, error) {
	var term *terminal
	switch {
	case opts.Detach:
		// exec.Cmd gives the command /dev/null for all three.
	case opts.TTY:
		master, slave, err := pty()
		if err != nil {
			return 0, toolError(err)
		}
		defer slave.Close()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		if term, err = newTerminal(master, opts.Stdin, opts.Stdout, opts.Interactive); err != nil {
			master.Close()
			return 0, toolError(err)
		}
		// Restored on every way out of Run, panics included.
		defer term.finish()
	default:
		stdinDone, err := setStdio(cmd, opts)
		if err != nil {
			return 0, toolError(err)
		}
		defer stdinDone()
	}

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGHUP, unix.SIGUSR1, unix.SIGUSR2, unix.SIGINT, unix.SIGQUIT)
	defer signal.Stop(sigs)

	err := cmd.Start()
	// Only the child may hold the write end now: its exec closes it.
	errW.Close()
	if err != nil {
		return 0, toolError(fmt.Errorf("start: %w", err))
	}
	if term != nil {
		// Only the command may hold its side of the pty: the master
		// reads EOF when the command's last process is gone.
		cmd.Stdin.(*os.File).Close()
		term.start()
	}
	if !opts.Detach {
		go forwardSignals(sigs, cmd.Process, opts.TTY)
	}
	if s.stop != nil {
		// Ended from outside: the constructor's processes die with
		// the one killed here (their parent-death signal).
		stopped := make(chan struct{})
		defer close(stopped)
		go func() {
			select {
			case <-s.stop:
				cmd.Process.Kill()
			case <-stopped:
			}
		}()
	}

	// EOF on the error pipe means the payload was executed; anything else
	// is the constructor telling why it was not.
	report, _ := io.ReadAll(io.LimitReader(errR, 4096))
	if len(report) == 0 {
		for _, f := range views {
			if f != nil {
				f.Close() // closed again by the callers' defers: harmless
			}
		}
		if opts.Detach {
			// Executing, and not ours to wait for: once ctr-enter
			// exits, init reaps what is left of the child.
			return 0, nil
		}
	}
	waitErr := cmd.Wait()
	if len(report) > 0 {
		return 0, s.childError(report, cmd.Args[0])
	}
	return exitStatus(cmd, waitErr)
}

// forwardSignals relays what one sends to ctr-enter to the command, which
// runs in a session of its own: Ctrl-C and Ctrl-\ on the operator's
// terminal reach only ctr-enter (with -t, they arrive as characters
// through the pty instead).
//
// With -t, SIGTERM and SIGHUP end the session as a terminal hangup would:
// an interactive shell ignores SIGTERM but not SIGHUP. Whatever is still
// there after a grace period is killed (killing the intermediate process
// kills the command through its parent-death signal).
func forwardSignals(sigs <-chan os.Signal, proc *os.Process, tty bool) {
	for s := range sigs {
		switch {
		case tty && (s == unix.SIGTERM || s == unix.SIGHUP):
			proc.Signal(unix.SIGHUP)
			time.AfterFunc(2*time.Second, func() { proc.Kill() })
		default:
			proc.Signal(s)
		}
	}
}

func exitStatus(cmd *exec.Cmd, err error) (int, error) {
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && !errors.Is(err, exec.ErrWaitDelay) {
		return 0, toolError(err)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// namespacesToJoin compares the target's namespaces with ctr-enter's own.
func namespacesToJoin(p *resolve.Process, want nskind.Set) (nskind.Set, error) {
	explicit := want != 0
	if !explicit {
		want = nskind.All
	}
	var join nskind.Set
	for _, k := range nskind.Kinds {
		if !want.Has(k.Set) {
			continue
		}
		shared, err := p.SharesNamespace(k.Name)
		if errors.Is(err, os.ErrNotExist) {
			if explicit {
				return 0, fmt.Errorf("%w: the kernel has no %s namespaces", ErrUnsupported, k.Name)
			}
			continue
		}
		if err != nil {
			return 0, err
		}
		if !shared {
			join |= k.Set
		}
	}
	// The inodes were read by PID: prove it was still the target's.
	return join, p.Check()
}

// environment is the target's environment with extra on top: never the
// host's, which may hold credentials and says nothing true about the target.
// A bare NAME in extra removes NAME, as docker's -e NAME does when the
// client has no NAME.
// A terminal session also gets the operator's TERM (xterm if none), as
// with docker exec -t.
func environment(p *resolve.Process, extra []string, tty bool) ([]string, error) {
	base, err := p.Environ()
	if err != nil {
		return nil, err
	}
	return mergeEnv(base, extra, tty), nil
}

// mergeEnv is base with extra on top (see environment).
func mergeEnv(base, extra []string, tty bool) []string {
	env := make([]string, 0, len(base)+len(extra)+1)
	index := map[string]int{}
	for _, kv := range append(append([]string{}, base...), extra...) {
		if strings.HasPrefix(kv, nsexec.EnvVar+"=") {
			continue
		}
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := index[k]; ok {
			env[i] = kv
			continue
		}
		index[k] = len(env)
		env = append(env, kv)
	}
	// Removed ones are taken out once all are in, so that the index
	// stays true while they go in.
	env = slices.DeleteFunc(env, func(kv string) bool { return !strings.Contains(kv, "=") })
	for k := range index {
		if !hasVar(env, k) {
			delete(index, k)
		}
	}
	if _, ok := index["PATH"]; !ok {
		env = append(env, defaultPath)
	}
	if _, ok := index["TERM"]; tty && !ok {
		term := os.Getenv("TERM")
		if term == "" {
			term = "xterm"
		}
		env = append(env, "TERM="+term)
	}
	return env
}

// hostPayload finds the command on the host's PATH and opens it sealed. A
// script is run through its interpreter, which is what gets sealed: the
// kernel would otherwise run the interpreter from the host's writable file.
func hostPayload(args []string) ([]string, *os.File, error) {
	path, err := exec.LookPath(args[0])
	if err != nil {
		code := ExitNotFound
		if errors.Is(err, os.ErrPermission) {
			code = ExitCannotExec
		}
		if code == ExitNotFound {
			return nil, nil, notFoundOnHost(args[0])
		}
		return nil, nil, &Error{Code: code, Err: fmt.Errorf("exec %s: %w", text.Clean(args[0]), err)}
	}
	if interp := shebang(path); interp != nil {
		args = append(append(interp, path), args[1:]...)
		path = interp[0]
	}
	f, err := openSealed(path)
	if err != nil {
		return nil, nil, &Error{Code: ExitCannotExec, Err: fmt.Errorf("open %s: %w", path, err)}
	}
	return args, f, nil
}

// shebang returns the interpreter and its optional argument if path is a
// script.
func shebang(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, _ := io.ReadFull(f, buf)
	line, _, _ := bytes.Cut(buf[:n], []byte("\n"))
	rest, ok := bytes.CutPrefix(line, []byte("#!"))
	if !ok {
		return nil
	}
	interp, arg, _ := strings.Cut(strings.TrimSpace(string(rest)), " ")
	if interp == "" {
		return nil
	}
	if arg = strings.TrimSpace(arg); arg != "" {
		return []string{interp, arg}
	}
	return []string{interp}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// childError is the constructor's report, in the words of what the
// session was: a command not found says where it was looked for.
func (s *session) childError(report []byte, command string) error {
	err := childError(report, command, s.plan.Cwd)
	if e, ok := err.(*Error); ok && e.Code == ExitNotFound && s.inMount() {
		return notFoundInTarget(command, s.tools)
	}
	return err
}

// cwdFailure is the constructor's message for a working directory it
// could not change to (nsexec.c change_dir).
const cwdFailure = "change to the working directory"

// childError decodes the constructor's "CODE ERRNO MESSAGE" report,
// naming the command or the directory it was about.
func childError(report []byte, command, cwd string) error {
	fields := strings.SplitN(string(report), " ", 3)
	if len(fields) != 3 {
		return toolError(fmt.Errorf("entering failed: %q", report))
	}
	code, _ := strconv.Atoi(fields[0])
	errno, _ := strconv.Atoi(fields[1])
	msg := fields[2]
	switch {
	case code == ExitNotFound || code == ExitCannotExec:
		msg += " " + text.Clean(command)
	case msg == cwdFailure:
		msg += " " + text.Clean(cwd)
	}
	return &Error{Code: code, Err: fmt.Errorf("%s: %w", msg, syscall.Errno(errno))}
}
