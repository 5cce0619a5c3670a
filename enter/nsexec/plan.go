package nsexec

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/ctr-enter/ctr-enter/internal/nskind"
)

// Plan is what the parent tells the constructor: what to join, as whom,
// where, and the fds it needs. Each fd has its slot in the child (nsexec.h);
// Command puts it there, so that no caller deals in fd numbers.
type Plan struct {
	// Namespaces are joined through Pidfd, in one setns.
	Namespaces nskind.Set
	// IDs, if set, are taken on after joining (the root of a joined user
	// namespace, as with nsenter). Nil keeps ctr-enter's, or the
	// Confinement's.
	IDs *IDs
	// OwnRoot gives the session a root of its own made of the Tools,
	// with the target's root at /target and a procfs of the pid namespace
	// it runs in. The mount namespace is joined for the target's root
	// only: the session's is a copy, and nothing is mounted in the
	// target's.
	OwnRoot bool
	// TTY: stdin is the payload's own pty, to become its controlling
	// terminal.
	TTY bool
	// Stop (tests only) stops the child with SIGSTOP just before it
	// executes the payload, where it is as visible to the target as it
	// gets.
	Stop bool
	// Detach lets the payload outlive the parent (docker exec -d): the
	// constructor then does not die with it (ppid 0 in the plan).
	Detach bool
	// Cwd is the payload's working directory; "" keeps the current one.
	Cwd string
	// Root, instead of Pidfd, is a target that runs nothing: a detached
	// mount of its files (a stopped container's layers, an image's
	// tree). The session then runs in new mount, pid, uts, ipc and
	// network namespaces (loopback only) over a root made of those
	// files, with Hostname, a fresh procfs and the Tools.
	Root     *os.File
	Hostname string

	Pidfd   *os.File // the target, validated; needed when Namespaces is set
	ErrPipe *os.File // the write end of the error pipe: always needed
	Self    *os.File // ctr-enter's own sealed executable: always needed
	// Payload is the payload's sealed executable; nil: the constructor
	// looks argv[0] up on the environment's PATH, after joining.
	Payload *os.File
	// Confinement is a memfd of what the target runs with (its layout is
	// nsexec.h's); Cgroups are the target's cgroup.procs files it counts.
	Confinement *os.File
	Cgroups     []*os.File
	// Tools is a detached read-only mount of the debug tools; Launchers,
	// needed with it, one of their launchers (enter/nsexec/launch.c).
	Tools     *os.File
	Launchers *os.File
}

// IDs are a uid and a gid.
type IDs struct{ UID, GID int }

// Command returns the command that starts the constructor with args as the
// payload's argv and env as its environment. The caller adds stdio and
// process attributes, and keeps the plan's files open until it has started.
func (p *Plan) Command(args, env []string) *exec.Cmd {
	return &exec.Cmd{
		// The sealed executable, as the child sees it once its fds are
		// in their slots.
		Path:       "/proc/self/fd/" + strconv.Itoa(fdSelf),
		Args:       args,
		Env:        append(slices.Clip(env), EnvVar+"="+p.String()),
		ExtraFiles: p.extraFiles(),
	}
}

// extraFiles puts each fd in its slot: ExtraFiles[i] becomes fd 3+i. An
// empty slot is closed in the child.
func (p *Plan) extraFiles() []*os.File {
	extra := make([]*os.File, fdCgroups-3)
	for fd, f := range map[int]*os.File{
		fdPidfd: p.Pidfd, fdErr: p.ErrPipe, fdSelf: p.Self,
		fdPayload: p.Payload, fdConfine: p.Confinement, fdTools: p.Tools,
		fdLaunchers: p.Launchers, fdRoot: p.Root,
	} {
		extra[fd-3] = f
	}
	return append(extra, p.Cgroups...)
}

// field is one integer field of the plan, as the constructor reads it.
type field struct {
	key   string
	value int
}

// fields lists the plan's integer fields in the order nsexec.h gives
// (NSEXEC_PLAN_FIELDS); cwd follows them. The constructor refuses a plan
// whose fields differ from its own list.
func (p *Plan) fields() []field {
	uid, gid := -1, -1
	if p.IDs != nil {
		uid, gid = p.IDs.UID, p.IDs.GID
	}
	return []field{
		{"ns", int(p.Namespaces)},
		{"exec", b2i(p.Payload != nil)},
		{"own", b2i(p.OwnRoot)},
		{"tty", b2i(p.TTY)},
		{"uid", uid},
		{"gid", gid},
		// The constructor dies with its parent, and checks that this
		// is still its parent after saying so; 0 when detached.
		{"ppid", ppid(p.Detach)},
		{"confine", b2i(p.Confinement != nil)},
		{"tools", b2i(p.Tools != nil)},
		{"stop", b2i(p.Stop)},
		{"root", b2i(p.Root != nil)},
	}
}

// String is the plan as the constructor reads it from EnvVar.
func (p *Plan) String() string {
	var b strings.Builder
	for _, f := range p.fields() {
		fmt.Fprintf(&b, "%s=%d ", f.key, f.value)
	}
	// The hostname was checked (ValidHostname): no space ends it early.
	b.WriteString("host=" + p.Hostname + " ")
	// cwd goes last: it is the only field that may hold spaces.
	b.WriteString("cwd=" + p.Cwd)
	return b.String()
}

func ppid(detach bool) int {
	if detach {
		return 0
	}
	return os.Getpid()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ValidHostname says whether name can go in a plan and be a hostname: at
// most HostMax letters, digits, '-', '_' and '.', as runtimes allow.
func ValidHostname(name string) bool {
	if name == "" || len(name) > HostMax {
		return false
	}
	for _, c := range name {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}
