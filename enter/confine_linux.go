package enter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/enter/nsexec"
	"github.com/ctr-enter/ctr-enter/resolve"
)

// confinement is what the target's own processes run with, read from the
// host: by default the command keeps ctr-enter's privileges (as nsenter's
// does), and with AsTarget it takes on these instead.
type confinement struct {
	uid, gid   int
	groups     []int
	caps       [nsexec.NCaps]uint64 // indexed by nsexec.Cap*
	noNewPrivs bool
	filters    [][]unix.SockFilter // seccomp filters, the first installed first
	cgroups    []*os.File          // the target's cgroup.procs in every hierarchy
}

// readConfinement gathers the target's credentials, capabilities,
// no_new_privs, seccomp filters and cgroups. Ids are given as the target's
// user namespace sees them when that namespace is joined.
func readConfinement(p *resolve.Process, inUserNS bool) (*confinement, error) {
	creds, err := p.Credentials()
	if err != nil {
		return nil, err
	}
	// ctr-enter cannot yet take on an AppArmor or SELinux label, and says
	// so rather than run less confined than asked.
	if l := creds.LSMLabel; l != "" && l != "unconfined" {
		return nil, fmt.Errorf("%w: the target runs under the LSM label %q, which --as-target cannot take on yet", ErrUnsupported, l)
	}
	// The real ids, as ps shows them.
	c := &confinement{uid: creds.Uids[0], gid: creds.Gids[0], groups: creds.Groups, noNewPrivs: creds.NoNewPrivs}
	c.caps[nsexec.CapInheritable], c.caps[nsexec.CapPermitted], c.caps[nsexec.CapEffective] = creds.CapInh, creds.CapPrm, creds.CapEff
	c.caps[nsexec.CapBounding], c.caps[nsexec.CapAmbient] = creds.CapBnd, creds.CapAmb
	if inUserNS {
		if err := c.mapIDs(p); err != nil {
			return nil, err
		}
	}
	if creds.Seccomp == 1 {
		return nil, fmt.Errorf("%w: the target runs in seccomp strict mode", ErrUnsupported)
	}
	if creds.Seccomp == 2 {
		if c.filters, err = seccompFilters(p); err != nil {
			return nil, err
		}
	}
	if c.cgroups, err = openCgroups(p); err != nil {
		return nil, err
	}
	if err := p.Check(); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// mapIDs turns c's ids, read as ctr-enter's user namespace sees them, into
// those of the target's user namespace.
func (c *confinement) mapIDs(p *resolve.Process) error {
	uidMap, gidMap, err := p.IDMaps()
	if err != nil {
		return err
	}
	if c.uid, err = uidMap.Inside(c.uid); err != nil {
		return err
	}
	if c.gid, err = gidMap.Inside(c.gid); err != nil {
		return err
	}
	groups := make([]int, len(c.groups))
	for i, g := range c.groups {
		if groups[i], err = gidMap.Inside(g); err != nil {
			return err
		}
	}
	c.groups = groups
	return nil
}

func (c *confinement) close() {
	for _, f := range c.cgroups {
		f.Close()
	}
}

// seccompFilters copies the target's seccomp filters, as CRIU does: the
// kernel shows them only to a ptrace tracer (PTRACE_SECCOMP_GET_FILTER).
// The target is stopped for the few microseconds this takes, and resumed.
func seccompFilters(p *resolve.Process) ([][]unix.SockFilter, error) {
	// A tracee belongs to the thread that attached it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	if err := unix.PtraceSeize(p.PID); err != nil {
		return nil, fmt.Errorf("read the target's seccomp filters: ptrace seize: %w", err)
	}
	// Seized by PID: make sure it is still the pidfd's process.
	if err := p.Check(); err != nil {
		unix.PtraceDetach(p.PID)
		return nil, err
	}
	defer unix.PtraceDetach(p.PID)
	if err := unix.PtraceInterrupt(p.PID); err != nil {
		return nil, fmt.Errorf("read the target's seccomp filters: ptrace interrupt: %w", err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(p.PID, &ws, unix.WALL, nil); err != nil {
		return nil, fmt.Errorf("read the target's seccomp filters: wait: %w", err)
	}
	var filters [][]unix.SockFilter
	for i := 0; ; i++ {
		n, err := getFilter(p.PID, i, nil)
		if errors.Is(err, unix.ENOENT) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read the target's seccomp filter %d: %w", i, err)
		}
		f := make([]unix.SockFilter, n)
		if _, err := getFilter(p.PID, i, f); err != nil {
			return nil, fmt.Errorf("read the target's seccomp filter %d: %w", i, err)
		}
		// Index 0 is the newest; install the oldest first.
		filters = append([][]unix.SockFilter{f}, filters...)
	}
	return filters, nil
}

func getFilter(pid, index int, buf []unix.SockFilter) (int, error) {
	var ptr unsafe.Pointer
	if len(buf) > 0 {
		ptr = unsafe.Pointer(&buf[0])
	}
	n, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_FILTER, uintptr(pid), uintptr(index), uintptr(ptr), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// openCgroups opens cgroup.procs of the target's cgroup in every hierarchy
// ctr-enter can see, so that the command can join them after it has left
// the host's mount namespace.
func openCgroups(p *resolve.Process) ([]*os.File, error) {
	m, err := p.Membership()
	if err != nil {
		return nil, err
	}
	dirs, err := m.Dirs()
	if err != nil {
		return nil, err
	}
	var files []*os.File
	for _, dir := range dirs {
		f, err := os.OpenFile(filepath.Join(dir, "cgroup.procs"), os.O_WRONLY, 0)
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, fmt.Errorf("open the target's cgroup: %w", err)
		}
		files = append(files, f)
	}
	return files, nil
}

// encode lays the confinement out for nsexec.c (struct confine there, and
// nsexec.h): native-endian 32-bit words, then the capability words, the
// groups, and each filter as its length and its instructions.
func (c *confinement) encode() []byte {
	var b bytes.Buffer
	w := func(v any) { binary.Write(&b, binary.NativeEndian, v) }
	w([nsexec.ConfineWords]int32{int32(c.uid), int32(c.gid), int32(len(c.groups)), int32(b2i(c.noNewPrivs)), int32(len(c.filters)), int32(len(c.cgroups))})
	w(c.caps[:])
	for _, g := range c.groups {
		w(int32(g))
	}
	for _, f := range c.filters {
		w(int32(len(f)))
		w(f)
	}
	return b.Bytes()
}
