package procfs

import (
	"errors"
	"fmt"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// ReadCgroups reads the limits and usage of the process's cgroups. The
// mount points of m are resolved under fsRoot: "/" in production, a
// recorded tree in tests. fsRoot is the caller's and trusted; below it, no
// symbolic link is followed and no file is read past MaxFileSize. Files
// that are not there leave their fields nil; a file that is there but
// unreadable or malformed is an error, as is a cgroup path that could lead
// out of its hierarchy.
func (m *Membership) ReadCgroups(fsRoot string) (*Cgroups, error) {
	lines, mounts := m.Lines, m.Mounts
	if len(lines) == 0 {
		return nil, errors.New("read cgroups: no hierarchies in /proc/PID/cgroup")
	}
	paths, err := cgroupPaths(lines)
	if err != nil {
		return nil, err
	}
	if fsRoot == "" {
		return nil, errors.New("read cgroups: empty file system root")
	}
	root, err := unix.Open(fsRoot, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: fsRoot, Err: err}
	}
	defer unix.Close(root)

	cg := &Cgroups{Version: cgroupVersion(lines), Paths: paths}
	r := &cgroupReader{root: root, lines: lines, mounts: mounts}
	defer r.close()
	if cg.Version == 2 {
		r.readV2(cg)
	} else {
		r.readV1(cg)
	}
	if r.err != nil {
		return nil, fmt.Errorf("read cgroups: %w", r.err)
	}
	return cg, nil
}

// cgroupReader reads cgroup files, keeping the first error so that the
// lists of fields below read as lists; after an error it reads nothing.
type cgroupReader struct {
	root   int
	lines  []CgroupLine
	mounts []Mount
	open   []int // directory fds to close
	err    error
}

// cgroupDir is one opened cgroup directory, or fd -1 for one that is not
// there: all its files read as absent.
type cgroupDir struct {
	fd  int
	rel string
}

func (r *cgroupReader) close() {
	for _, fd := range r.open {
		unix.Close(fd)
	}
}

// dir opens the process's cgroup in the hierarchy of controller ("" for
// the unified one).
func (r *cgroupReader) dir(controller string) cgroupDir {
	rel, ok := locate(r.lines, r.mounts, controller)
	if !ok || r.err != nil {
		return cgroupDir{fd: -1}
	}
	fd, err := openDirBeneath(r.root, rel)
	if isGone(err) {
		return cgroupDir{fd: -1}
	}
	if err != nil {
		r.err = err
		return cgroupDir{fd: -1}
	}
	r.open = append(r.open, fd)
	return cgroupDir{fd: fd, rel: rel}
}

// file reads name in d, reporting whether it is there.
func (r *cgroupReader) file(d cgroupDir, name string) ([]byte, bool) {
	if d.fd < 0 || r.err != nil {
		return nil, false
	}
	b, err := readFileAt(d.fd, name, path.Join(d.rel, name), MaxFileSize)
	if isGone(err) {
		return nil, false
	}
	if err != nil {
		r.err = err
		return nil, false
	}
	return b, true
}

func (r *cgroupReader) fail(d cgroupDir, name string, err error) {
	r.err = fmt.Errorf("read %s: %w", path.Join(d.rel, name), err)
}

func (r *cgroupReader) uint(d cgroupDir, name string) *uint64 {
	b, ok := r.file(d, name)
	if !ok {
		return nil
	}
	v, err := ParseSingleUint(b)
	if err != nil {
		r.fail(d, name, err)
		return nil
	}
	return &v
}

func (r *cgroupReader) int(d cgroupDir, name string) *int64 {
	b, ok := r.file(d, name)
	if !ok {
		return nil
	}
	v, err := ParseSingleInt(b)
	if err != nil {
		r.fail(d, name, err)
		return nil
	}
	return &v
}

// limit reads a number-or-"max" file.
func (r *cgroupReader) limit(d cgroupDir, name string) *int64 {
	b, ok := r.file(d, name)
	if !ok {
		return nil
	}
	v, err := ParseLimit(b)
	if err != nil {
		r.fail(d, name, err)
		return nil
	}
	return &v
}

// keyedFile is a parsed flat keyed file, kept with where it came from
// for errors; m is nil if the file is not there.
type keyedFile struct {
	d    cgroupDir
	name string
	m    map[string]string
}

func (r *cgroupReader) keyed(d cgroupDir, name string) keyedFile {
	kf := keyedFile{d: d, name: name}
	b, ok := r.file(d, name)
	if !ok {
		return kf
	}
	m, err := ParseFlatKeyed(b)
	if err != nil {
		r.fail(d, name, err)
		return kf
	}
	kf.m = m
	return kf
}

// key reads one unsigned value of a keyed file; nil if the file or the
// key is not there.
func (r *cgroupReader) key(kf keyedFile, key string) *uint64 {
	if r.err != nil {
		return nil
	}
	v, err := ParseKeyUint(kf.m, key)
	if err != nil {
		r.fail(kf.d, kf.name, err)
		return nil
	}
	return v
}

func (r *cgroupReader) readV1(cg *Cgroups) {
	r.readV1CPU(r.dir("cpu"), r.dir("cpuacct"), &cg.CPU)
	r.readV1Memory(r.dir("memory"), &cg.Memory)
	r.readPids(r.dir("pids"), &cg.Pids)
}

func (r *cgroupReader) readV2(cg *Cgroups) {
	d := r.dir("")
	r.readV2CPU(d, &cg.CPU)
	r.readV2Memory(d, &cg.Memory)
	r.readPids(d, &cg.Pids)
}

// readV1CPU reads the cpu and cpuacct hierarchies, which may be one
// hierarchy (cpu,cpuacct) or two: both are opened by controller.
func (r *cgroupReader) readV1CPU(cpu, acct cgroupDir, s *CPUStats) {
	s.Shares = r.uint(cpu, "cpu.shares")
	s.QuotaUs = r.int(cpu, "cpu.cfs_quota_us")
	s.PeriodUs = r.uint(cpu, "cpu.cfs_period_us")
	st := r.keyed(cpu, "cpu.stat")
	s.NrPeriods = r.key(st, "nr_periods")
	s.NrThrottled = r.key(st, "nr_throttled")
	s.ThrottledNs = r.key(st, "throttled_time")
	s.UsageNs = r.uint(acct, "cpuacct.usage")
}

// readV1Memory reads the memory hierarchy. memory.failcnt is not an OOM
// count (it counts every time usage hit the limit, most of which reclaim
// absorbs), so OOMEvents comes only from a memory.events if the kernel
// has one.
func (r *cgroupReader) readV1Memory(d cgroupDir, s *MemoryStats) {
	if v := r.uint(d, "memory.limit_in_bytes"); v != nil {
		limit := v1MemoryLimit(*v)
		s.Limit = &limit
	}
	s.Usage = r.uint(d, "memory.usage_in_bytes")
	s.Peak = r.uint(d, "memory.max_usage_in_bytes")
	s.OOMKills = r.key(r.keyed(d, "memory.oom_control"), "oom_kill")
	s.OOMEvents = r.key(r.keyed(d, "memory.events"), "oom")
}

// readPids reads pids.max and pids.current, alike in v1 and v2.
func (r *cgroupReader) readPids(d cgroupDir, s *PidsStats) {
	s.Limit = r.limit(d, "pids.max")
	s.Current = r.uint(d, "pids.current")
}

func (r *cgroupReader) readV2CPU(d cgroupDir, s *CPUStats) {
	s.Weight = r.uint(d, "cpu.weight")
	if b, ok := r.file(d, "cpu.max"); ok {
		var err error
		if s.QuotaUs, s.PeriodUs, err = parseCPUMax(b); err != nil {
			r.fail(d, "cpu.max", err)
		}
	}
	st := r.keyed(d, "cpu.stat")
	s.UsageNs = nsFromUs(r.key(st, "usage_usec"))
	s.NrPeriods = r.key(st, "nr_periods")
	s.NrThrottled = r.key(st, "nr_throttled")
	s.ThrottledNs = nsFromUs(r.key(st, "throttled_usec"))
}

func (r *cgroupReader) readV2Memory(d cgroupDir, s *MemoryStats) {
	s.Limit = r.limit(d, "memory.max")
	s.Usage = r.uint(d, "memory.current")
	s.Peak = r.uint(d, "memory.peak")
	ev := r.keyed(d, "memory.events")
	s.OOMEvents = r.key(ev, "oom")
	s.OOMKills = r.key(ev, "oom_kill")
}

// nsFromUs converts a v2 microsecond count to the nanoseconds v1 counts in.
func nsFromUs(us *uint64) *uint64 {
	if us == nil {
		return nil
	}
	ns := usecToNs(*us)
	return &ns
}
