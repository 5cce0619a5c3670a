package procfs

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func u64(v uint64) *uint64 { return &v }
func i64(v int64) *int64   { return &v }

// show prints a struct of pointers with the values they point to, so
// that a failed comparison says which field differs and how.
func show(v any) string {
	rv := reflect.ValueOf(v)
	var b strings.Builder
	for i := range rv.NumField() {
		f := rv.Field(i)
		fmt.Fprintf(&b, "%s=", rv.Type().Field(i).Name)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				b.WriteString("nil ")
				continue
			}
			f = f.Elem()
		}
		fmt.Fprintf(&b, "%v ", f.Interface())
	}
	return b.String()
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seeds adds the files under testdata matching glob to a fuzz corpus.
func seeds(f *testing.F, glob string) {
	f.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", glob))
	if err != nil || len(names) == 0 {
		f.Fatalf("no seeds for %s: %v", glob, err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// membership parses a /proc/PID/cgroup and a mountinfo as Proc.Membership
// does.
func membership(procCgroup, mountinfo []byte) (*Membership, error) {
	lines, err := ParseProcCgroup(procCgroup)
	if err != nil {
		return nil, err
	}
	mounts, err := ParseMountinfo(mountinfo)
	if err != nil {
		return nil, err
	}
	return &Membership{Lines: lines, Mounts: mounts}, nil
}

// readCgroups reads the cgroups of a recorded /proc/PID/cgroup and
// mountinfo under fsRoot.
func readCgroups(procCgroup, mountinfo []byte, fsRoot string) (*Cgroups, error) {
	m, err := membership(procCgroup, mountinfo)
	if err != nil {
		return nil, err
	}
	return m.ReadCgroups(fsRoot)
}

// cgroupDirs is Membership.Dirs of a /proc/PID/cgroup and a mountinfo.
func cgroupDirs(t *testing.T, procCgroup, mountinfo []byte) ([]string, error) {
	t.Helper()
	m, err := membership(procCgroup, mountinfo)
	if err != nil {
		t.Fatal(err)
	}
	return m.Dirs()
}
