package enter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/enter/nsexec"
	"github.com/ctr-enter/ctr-enter/internal/nskind"
	"github.com/ctr-enter/ctr-enter/internal/passwd"
	"github.com/ctr-enter/ctr-enter/internal/procfs"
	"github.com/ctr-enter/ctr-enter/internal/text"
	"github.com/ctr-enter/ctr-enter/resolve"
)

// Offline is a target that runs nothing: a stopped container, or an image.
// Its files are overlayfs layers on the host, named by its runtime (or the
// image cache); the rest comes from its config.
type Offline struct {
	Name string // the explicit form, cleaned, for messages
	// Layers are the read-only layers, top first; Upper is the
	// container's own writable layer ("" for an image) and Work its
	// overlayfs work directory.
	Layers      []string
	Upper, Work string
	// Write mounts Upper writable: the session's changes are the
	// container's, seen by its next start.
	Write    bool
	Env      []string // the config's; PATH defaults as for docker exec
	Cwd      string   // "" means /
	Hostname string   // "" (or one no kernel takes): the host's, as runc leaves it
	User     string   // the config's USER[:GROUP], taken on with --as-target
	// Volumes are what a start of the container mounts over its files
	// (its volumes and binds, as its runtime names them), mounted over
	// the view at their destinations: read-only, unless the container
	// has one writable and Write is set.
	Volumes []Volume
	// Warn hears of a volume that is left out (nil: silent).
	Warn func(error)
}

// Volume is one file system a start of the container mounts over its root.
type Volume struct {
	// Source is a host path (a volume's directory, a bind's file or
	// directory), as the runtime's config names it; "" is an empty
	// tmpfs.
	Source      string
	Destination string // absolute, in the container
	RW          bool   // the container's runtime mounts it writable
}

// ErrNoWorkdir is a --write on a container whose runtime keeps no
// overlayfs work directory beside its writable layer.
var ErrNoWorkdir = errors.New("cannot write the container's files")

// RunOffline runs opts.Args in a session over o's files (killed when ctx
// is done): in new mount, pid, uts, ipc and network namespaces (loopback only), with o's environment,
// working directory and hostname, ctr-enter's tools (or an image's) as for
// a running target, and a procfs of its own pid namespace, where the
// command runs under a minimal init (nsexec.c). Nothing is created in any
// runtime, and nothing outlives the session: the view of o's layers is a
// detached mount, which goes with its last user.
func RunOffline(ctx context.Context, o Offline, opts Options) (int, error) {
	if opts.Namespaces != 0 || opts.TrustTarget || opts.Detach {
		return 0, toolError(fmt.Errorf("%s runs nothing: namespace flags, --trust-target and --detach need a running container", o.Name))
	}
	view, err := OpenView(o)
	if err != nil {
		return 0, toolError(err)
	}
	defer view.Close()
	files := &resolve.Root{Dir: view, Name: o.Name}
	s, err := decideOffline(files, o, opts)
	if err != nil {
		return 0, err
	}
	// The caller ends a session whose files it can no longer vouch for
	// (a --write session whose container was started meanwhile).
	s.stop = ctx.Done()
	pl := s.plan
	pl.Root = view
	if s.creds == userCredentials {
		// As the runtime would start it: the user's ids and groups,
		// and no more capabilities than a default container's (all of
		// them for uid 0, none for anyone else), so that the
		// container's own programs do not run with ctr-enter's.
		own, err := procfs.ReadStatus(os.Getpid())
		if err != nil {
			return 0, toolError(err)
		}
		c := &confinement{uid: s.user.UID, gid: s.user.GID, groups: s.user.Groups}
		c.caps[nsexec.CapBounding] = own.CapBnd & procfs.DockerDefaultCaps
		if c.uid == 0 {
			c.caps[nsexec.CapPermitted], c.caps[nsexec.CapEffective] = c.caps[nsexec.CapBounding], c.caps[nsexec.CapBounding]
		}
		if pl.Confinement, err = sealedCopy("ctr-enter-confine", bytes.NewReader(c.encode())); err != nil {
			return 0, toolError(err)
		}
		defer pl.Confinement.Close()
	}
	// The terminal is the host's: the session's /dev holds that pty only.
	return s.start(pl, s.args, func() (*os.File, *os.File, error) { return openPty(nil, false) }, opts)
}

// OpenView is o's files as a session sees them, read-only unless
// o.Write, volumes and all: a detached mount, gone with its last user,
// for a copy of its files from the host (ctr-enter cp).
func OpenView(o Offline) (*os.File, error) {
	view, err := o.view()
	if err != nil {
		return nil, err
	}
	if err := o.mountVolumes(view); err != nil {
		view.Close()
		return nil, err
	}
	return view, nil
}

// view mounts o's layers, detached: read-only with the container's own
// layer as the top lower one (an overlayfs without an upper layer cannot
// be made writable, and leaves the container's layers to its runtime), or
// with --write that layer as the upper one.
func (o Offline) view() (*os.File, error) {
	layers := o.Layers
	if o.Upper != "" {
		layers = append([]string{o.Upper}, layers...)
	}
	var mnt int
	var err error
	switch {
	case o.Write && (o.Upper == "" || o.Work == ""):
		return nil, fmt.Errorf("%w: %s: its runtime keeps no overlayfs work directory beside its writable layer", ErrNoWorkdir, o.Name)
	case o.Write:
		mnt, err = overlay(0, func(ctx int) error {
			return setLayers(ctx, o.Layers, o.Upper, o.Work)
		})
	case len(layers) == 1:
		mnt, err = readOnlyView(layers[0])
	default:
		mnt, err = overlay(unix.MOUNT_ATTR_RDONLY, func(ctx int) error {
			return setLayers(ctx, layers, "", "")
		})
	}
	if err != nil {
		return nil, fmt.Errorf("mount the files of %s: %w", o.Name, err)
	}
	return os.NewFile(uintptr(mnt), o.Name), nil
}

// setLayers gives an overlay its layers one by one (lowerdir+, Linux 6.8):
// a container's many layer paths overflow fsconfig's 256-byte strings.
func setLayers(ctx int, lower []string, upper, work string) error {
	for _, d := range lower {
		if err := unix.FsconfigSetString(ctx, "lowerdir+", d); err != nil {
			return fmt.Errorf("fsconfig overlay lowerdir+=%s: %w", d, err)
		}
	}
	if upper == "" {
		return nil
	}
	if err := unix.FsconfigSetString(ctx, "upperdir", upper); err != nil {
		return fmt.Errorf("fsconfig overlay upperdir=%s: %w", upper, err)
	}
	if err := unix.FsconfigSetString(ctx, "workdir", work); err != nil {
		return fmt.Errorf("fsconfig overlay workdir=%s: %w", work, err)
	}
	return nil
}

// decideOffline is decide for a target that runs nothing: the command, its
// environment, user and working directory come from o's config and files.
func decideOffline(files *resolve.Root, o Offline, opts Options) (*session, error) {
	// join is what the command's files are: the target's (for messages).
	s := &session{join: nskind.Mount, args: opts.Args, tools: opts.Tools,
		users: sync.OnceValues(func() ([]passwd.User, error) { return targetUsers(files) })}
	if s.tools.none() {
		s.tools = OwnTools
	}
	var err error
	switch {
	case opts.AsTarget && opts.User != "":
		return nil, toolError(errors.New("--as-target and --user exclude each other: the target's user comes with --as-target"))
	case opts.AsTarget && o.User == "":
		// A config without a user: root, as runtimes start it.
		s.user, err = lookupUser(files, "0", s.users)
	case opts.AsTarget:
		s.user, err = lookupUser(files, o.User, s.users)
	case opts.User != "":
		s.user, err = lookupUser(files, opts.User, s.users)
	}
	if err != nil {
		return nil, toolError(err)
	}
	uid := func() (int, error) {
		if s.user != nil {
			return s.user.UID, nil
		}
		return 0, nil
	}
	if err := s.commandAndEnv(files, uid, true, func() ([]string, error) { return o.Env, nil }, opts); err != nil {
		return nil, toolError(err)
	}
	withToolPath(s.env)
	// A config without a hostname (or with one no kernel takes) leaves
	// the one the new uts namespace starts with, the host's, as runc
	// does for the container itself.
	host, shown := o.Hostname, o.Hostname
	if !nsexec.ValidHostname(host) {
		host = ""
		shown, _ = os.Hostname()
	}
	if !hasVar(s.env, "HOSTNAME") {
		s.env = append(s.env, "HOSTNAME="+shown)
	}
	u, _ := uid()
	if !hasVar(s.env, "HOME") {
		users, _ := s.users()
		s.env = append(s.env, "HOME="+passwd.HomeDir(users, u))
	}
	s.plan = nsexec.Plan{TTY: opts.TTY, Hostname: host, Cwd: opts.Workdir,
		Stop: os.Getenv("CTR_ENTER_TEST_STOP") == "at-exec"}
	if s.user != nil {
		s.creds = userCredentials
	}
	if s.plan.Cwd == "" {
		s.plan.Cwd = o.Cwd
	}
	if s.plan.Cwd == "" {
		s.plan.Cwd = "/"
	}
	return s, nil
}

// ErrVolume is a volume that a session leaves out (Offline.Warn hears of
// it): the rest of the container's files are there all the same.
var ErrVolume = errors.New("volume not mounted")

// sessionOwned are the directories a session over a container that runs
// nothing makes of its own (nsexec.c own_root_extras) or keeps for the
// tools: the container's mounts there (Kubernetes' /dev/shm and
// /dev/termination-log, a runtime's /proc and /sys) would be hidden, or
// would hide what the session needs.
var sessionOwned = []string{"/proc", "/sys", "/dev", "/" + nsexec.ToolsDir}

// volumesToMount are o's volumes in the order they can go (a parent's
// before what is mounted inside it, as runtimes sort them), with clean
// destinations, without those where the session has its own files;
// those that cannot be mounted are refused, one error each.
func volumesToMount(vols []Volume) (keep []Volume, refused []error) {
	for _, v := range vols {
		if !path.IsAbs(v.Destination) {
			refused = append(refused, fmt.Errorf("%w: %s: not an absolute path", ErrVolume, text.Clean(v.Destination)))
			continue
		}
		v.Destination = path.Clean(v.Destination)
		if v.Destination == "/" {
			refused = append(refused, fmt.Errorf("%w: /: over the container's whole root", ErrVolume))
			continue
		}
		// Left out without a word: every Kubernetes container has
		// /dev/shm and /dev/termination-log, every spec a /dev tmpfs.
		if slices.ContainsFunc(sessionOwned, func(d string) bool {
			return v.Destination == d || strings.HasPrefix(v.Destination, d+"/")
		}) {
			continue
		}
		keep = append(keep, v)
	}
	depth := func(v Volume) int { return strings.Count(v.Destination, "/") }
	slices.SortStableFunc(keep, func(a, b Volume) int { return depth(a) - depth(b) })
	return keep, refused
}

// mountVolumes mounts o's volumes on the view, a detached mount (which
// takes mounts since Linux 6.15): nsexec.c then grafts the view's entries
// into the session's root with everything mounted on them. A volume that
// cannot be mounted is left out, with a warning: the container's own files
// are what the session is for.
func (o Offline) mountVolumes(view *os.File) error {
	keep, refused := volumesToMount(o.Volumes)
	for _, v := range keep {
		if err := mountVolume(view, v, v.RW && o.Write); err != nil {
			refused = append(refused, fmt.Errorf("%w: %s: %w", ErrVolume, text.Clean(v.Destination), err))
		}
	}
	if o.Warn != nil {
		for _, err := range refused {
			o.Warn(fmt.Errorf("%s: %w", o.Name, err))
		}
	}
	return nil
}

// mountVolume mounts one volume at its destination in view.
//
// The destination is in the container's files, which the container wrote:
// it is resolved with RESOLVE_IN_ROOT, so that a link planted there (/data
// -> /etc on the host) means what it means in the container, never a host
// path, and the mount goes on the very inode resolved (an fd, not a path
// looked up again). Nothing is created: a destination the container's
// files lack is left out (a start would make it; the view is not to be
// written). The source is a host path from the runtime's config, opened
// as the runtime opens it but without magic links.
func mountVolume(view *os.File, v Volume, rw bool) error {
	attr := uint64(unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV)
	if !rw {
		attr |= unix.MOUNT_ATTR_RDONLY
	}
	var tree int
	if v.Source == "" {
		var err error
		if tree, err = detachedTmpfs(int(attr)); err != nil {
			return err
		}
	} else {
		src, err := unix.Openat2(unix.AT_FDCWD, v.Source, &unix.OpenHow{
			Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_MAGICLINKS})
		if err != nil {
			return &os.PathError{Op: "open", Path: v.Source, Err: err}
		}
		tree, err = unix.OpenTree(src, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_EMPTY_PATH)
		unix.Close(src)
		if err != nil {
			return os.NewSyscallError("open_tree "+v.Source, err)
		}
		// Recursive: a read-only volume stays read-only below, too.
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &unix.MountAttr{Attr_set: attr}); err != nil {
			unix.Close(tree)
			return os.NewSyscallError("mount_setattr "+v.Source, err)
		}
	}
	defer unix.Close(tree)
	dst, err := (&resolve.Root{Dir: view}).OpenInRoot(v.Destination, unix.O_PATH)
	if errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("not in the container's files (its next start makes it)")
	}
	if err != nil {
		return err
	}
	defer dst.Close()
	var st, dt unix.Stat_t
	if err := unix.Fstat(tree, &st); err != nil {
		return os.NewSyscallError("fstat", err)
	}
	if err := unix.Fstat(int(dst.Fd()), &dt); err != nil {
		return os.NewSyscallError("fstat", err)
	}
	if (st.Mode&unix.S_IFMT == unix.S_IFDIR) != (dt.Mode&unix.S_IFMT == unix.S_IFDIR) {
		return fmt.Errorf("a directory and a file: %s is not what the container has there", v.Source)
	}
	if err := unix.MoveMount(tree, "", int(dst.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return os.NewSyscallError("move_mount", err)
	}
	return nil
}
