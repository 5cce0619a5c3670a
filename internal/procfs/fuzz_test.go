package procfs

import (
	"strings"
	"testing"
)

// The fuzz targets check that no input makes a parser panic, and a few
// things every successful parse must hold. Their seeds (testdata and
// f.Add) run with every plain `go test`; to fuzz one, e.g.:
//
//	go test -fuzz=FuzzParseStatus -fuzztime=10s ./internal/procfs/

func FuzzParseStatus(f *testing.F) {
	seeds(f, "status/*")
	f.Add([]byte(minimalStatus))
	f.Add([]byte("Name:\tx\nUid:\t0\t0\t0\t0\nUid:\t1\t1\t1\t1\n" + minimalStatus))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStatus(b)
		if err != nil {
			return
		}
		if strings.Contains(s.Name, "\n") {
			t.Errorf("Name %q holds a newline", s.Name)
		}
		for _, id := range append(append(s.Uids[:], s.Gids[:]...), s.Groups...) {
			if id < 0 || id > 1<<32-1 {
				t.Errorf("id %d out of range", id)
			}
		}
		if s.PPid < 0 || s.Seccomp < 0 || s.SeccompFilters < 0 {
			t.Errorf("negative count in %+v", s)
		}
		_ = SeccompModeName(s.Seccomp)
		_, _ = CapDiff(s.CapEff, DockerDefaultCaps)
	})
}

func FuzzParseProcCgroup(f *testing.F) {
	seeds(f, "*/cgroup")
	f.Add([]byte("4:cpu,cpuacct:/docker/x\n9:name=systemd:/a:b\n0::/\n"))
	f.Add([]byte("0::/../..\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lines, err := ParseProcCgroup(b)
		if err != nil {
			return
		}
		if len(lines) > strings.Count(string(b), "\n")+1 {
			t.Errorf("%d lines from %d", len(lines), strings.Count(string(b), "\n")+1)
		}
		for _, l := range lines {
			if l.ID < 0 || l.Path == "" || strings.Contains(l.Path, "\n") {
				t.Errorf("bad line %+v", l)
			}
			for _, c := range l.Controllers {
				if c == "" || strings.ContainsAny(c, ",:\n") {
					t.Errorf("bad controller %q", c)
				}
			}
		}
	})
}

func FuzzParseMountinfo(f *testing.F) {
	seeds(f, "*/mountinfo*")
	f.Add([]byte("36 35 98:0 /mnt\\0401 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"))
	f.Add([]byte("37 35 0:50 / /tmp rw - tmpfs  rw\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		mounts, err := ParseMountinfo(b)
		if err != nil {
			return
		}
		if len(mounts) > strings.Count(string(b), "\n")+1 {
			t.Errorf("%d mounts from %d lines", len(mounts), strings.Count(string(b), "\n")+1)
		}
		for _, m := range mounts {
			if m.ID < 0 || m.Parent < 0 {
				t.Errorf("negative id in %+v", m)
			}
			// Unescaping only ever shortens.
			if len(m.MountPoint) > len(b) || len(m.Root) > len(b) {
				t.Errorf("fields longer than the input in %+v", m)
			}
		}
	})
}

func FuzzParseFlatKeyed(f *testing.F) {
	seeds(f, "v1hybrid/root/sys/fs/cgroup/*/docker/*/*.stat")
	seeds(f, "v2/root/sys/fs/cgroup/system.slice/*/memory.events")
	f.Add([]byte("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseFlatKeyed(b)
		if err != nil {
			return
		}
		for k, v := range m {
			if k == "" || v == "" || strings.ContainsAny(k+v, " \t\n") {
				t.Errorf("bad entry %q %q", k, v)
			}
			if p, err := ParseKeyUint(m, k); (p == nil) != (err != nil) {
				t.Errorf("ParseKeyUint(%q) = %v, %v", k, p, err)
			}
		}
	})
}

// FuzzParseSingleValue fuzzes every single-value parser on one input.
func FuzzParseSingleValue(f *testing.F) {
	seeds(f, "v1hybrid/root/sys/fs/cgroup/*/docker/*/*")
	seeds(f, "v2/root/sys/fs/cgroup/system.slice/*/*.max")
	f.Add([]byte("max 100000\n"))
	f.Add([]byte("-1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSingle(b)
		if err == nil && (s == "" || strings.ContainsAny(s, "\n\r")) {
			t.Errorf("ParseSingle(%q) = %q", b, s)
		}
		_, _ = ParseSingleUint(b)
		_, _ = ParseSingleInt(b)
		if v, err := ParseLimit(b); err == nil && v < -1 {
			t.Errorf("ParseLimit(%q) = %d", b, v)
		}
		q, p, err := parseCPUMax(b)
		if err == nil && (q == nil || *q < -1) {
			t.Errorf("parseCPUMax(%q) = %v, %v", b, q, p)
		}
	})
}

// FuzzReadCgroups feeds arbitrary /proc/PID/cgroup contents to
// ReadCgroups over a recorded tree: whatever the paths, it must not
// panic, and must refuse any that climbs with "..".
func FuzzReadCgroups(f *testing.F) {
	seeds(f, "*/cgroup")
	f.Add([]byte("0::/../../../etc\n"))
	f.Add([]byte("4:memory:/docker/./x/../../..\n"))
	mountinfo := readTestdata(f, "v1hybrid/mountinfo")
	f.Fuzz(func(t *testing.T, b []byte) {
		cg, err := readCgroups(b, mountinfo, "testdata/v1hybrid/root")
		if err != nil {
			return
		}
		for key, p := range cg.Paths {
			if !safePath(p) {
				t.Errorf("Paths[%q] = %q accepted", key, p)
			}
		}
	})
}

func FuzzParseIDMap(f *testing.F) {
	f.Add([]byte("         0     100000      65536\n"), 100999)
	f.Add([]byte("0 0 4294967295\n"), 1000)
	f.Add([]byte("0 1000 1\n1 100000 65536\n"), 1000)
	f.Add([]byte("1 4294967294 1\n"), 4294967294)
	f.Fuzz(func(t *testing.T, b []byte, outside int) {
		m, err := ParseIDMap(b)
		if err != nil {
			return
		}
		for _, r := range m {
			if r.Count == 0 || uint64(r.Inside)+uint64(r.Count) >= 1<<32 || uint64(r.Outside)+uint64(r.Count) >= 1<<32 {
				t.Errorf("bad range %+v", r)
			}
		}
		inside, err := m.Inside(outside)
		if err != nil {
			return
		}
		// Mapped means: some range holds both ids, at the same offset.
		found := false
		for _, r := range m {
			if outside >= int(r.Outside) && outside-int(r.Outside) < int(r.Count) && inside-int(r.Inside) == outside-int(r.Outside) {
				found = true
			}
		}
		if !found || inside < 0 || inside >= 1<<32-1 {
			t.Errorf("Inside(%d) = %d under %v", outside, inside, m)
		}
	})
}

// FuzzParseNulSeparated fuzzes the parsers of the NUL-separated files a
// process can write to (its environment and arguments live in its own
// memory), and of its LSM label.
func FuzzParseNulSeparated(f *testing.F) {
	f.Add([]byte("PATH=/bin\x00HOME=/\x00"))
	f.Add([]byte("=x\x00\x00y\x00"))
	f.Add([]byte("docker-default (enforce)\n\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, kv := range ParseEnviron(b) {
			if strings.IndexByte(kv, '=') <= 0 || strings.Contains(kv, "\x00") {
				t.Errorf("variable %q", kv)
			}
		}
		args := ParseCmdline(b)
		for _, a := range args {
			if strings.Contains(a, "\x00") {
				t.Errorf("argument %q", a)
			}
		}
		if len(b) > 0 && len(strings.Join(args, "\x00")) != len(strings.TrimSuffix(string(b), "\x00")) {
			t.Errorf("ParseCmdline(%q) = %q lost bytes", b, args)
		}
		// No NUL or white space left at either end, so parsing the
		// label again changes nothing.
		if l := ParseLSMLabel(b); ParseLSMLabel([]byte(l)) != l || strings.ContainsAny(l[:min(len(l), 1)]+l[max(len(l)-1, 0):], "\x00\n ") {
			t.Errorf("label %q", l)
		}
	})
}
