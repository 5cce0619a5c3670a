// Package inspect shows what makes a process a container: its processes,
// environment, namespaces and who shares them, cgroup limits and usage, and
// security settings, all read from the host's /proc and cgroupfs, with no
// tool inside the container.
//
// The JSON form of Report and Row is documented by schema.json, and kept
// to it by a test: fields are only ever added.
package inspect

import (
	"context"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
	"github.com/ctr-enter/ctr-enter/resolve"
)

// Report is everything inspect tells about one target.
type Report struct {
	Identity
	PID        int         `json:"pid"`
	PPID       int         `json:"ppid"`
	Processes  []Process   `json:"processes"`
	Env        []string    `json:"env"`
	Namespaces []Namespace `json:"namespaces"`
	// Cgroups are the container's cgroups and the limits and usage the
	// kernel keeps there: a null value is one this kernel or mount
	// layout does not provide; -1 is "no limit".
	Cgroups  *procfs.Cgroups `json:"cgroups"`
	Security Security        `json:"security"`
}

// Identity names a container, in Report and StoppedReport alike.
type Identity struct {
	Runtime   string `json:"runtime"`
	Namespace string `json:"namespace"`
	ID        string `json:"id"`
	Name      string `json:"name"`
	Image     string `json:"image"`
	Ref       string `json:"ref"`
	// Pod is the Kubernetes pod the container belongs to; absent for
	// others.
	Pod *Pod `json:"pod,omitempty"`
}

func identityOf(t *resolve.Target) Identity {
	return Identity{
		Runtime: t.Runtime, Namespace: t.Namespace, ID: t.ID, Name: t.Name, Image: t.Image,
		Ref: t.String(), Pod: podOf(t.Container),
	}
}

// Process is one process of the container's tree. The first is the
// container's parent (the runtime's shim), at depth 0.
type Process struct {
	PID     int    `json:"pid"`
	PPID    int    `json:"ppid"`
	Depth   int    `json:"depth"`
	Name    string `json:"name"`
	Cmdline string `json:"cmdline"`
}

// Security is what confines the container's init process.
type Security struct {
	UID            int          `json:"uid"`
	GID            int          `json:"gid"`
	Groups         []int        `json:"groups"`
	Seccomp        string       `json:"seccomp"` // disabled, strict or filter
	SeccompFilters int          `json:"seccomp_filters"`
	NoNewPrivs     bool         `json:"no_new_privs"`
	LSMLabel       string       `json:"lsm_label"` // AppArmor or SELinux; "" without such an LSM
	Capabilities   Capabilities `json:"capabilities"`
}

// Capabilities are the capability sets by name, and how the bounding set
// differs from the default that Docker, containerd and runc give.
type Capabilities struct {
	Effective   []string `json:"effective"`
	Permitted   []string `json:"permitted"`
	Inheritable []string `json:"inheritable"`
	Bounding    []string `json:"bounding"`
	Ambient     []string `json:"ambient"`
	Added       []string `json:"added"`
	Dropped     []string `json:"dropped"`
}

// Options tune the report.
type Options struct {
	// ShowSecrets prints the values of environment variables whose names
	// look like secrets; by default they are masked.
	ShowSecrets bool
}

// secretKey matches environment variable names whose values are not for
// the screen.
var secretKey = regexp.MustCompile(`(?i)pass|secret|token|api_?key|private_?key|credential|auth`)

// Inspect reports on p. peers are the other containers, for namespace
// sharing.
func Inspect(ctx context.Context, p *resolve.Process, peers []*resolve.Target, opts Options) (*Report, error) {
	r := &Report{Identity: identityOf(p.Target), PID: p.PID}
	st, err := p.Stat()
	if err != nil {
		return nil, err
	}
	r.PPID = st.PPID
	creds, err := p.Credentials()
	if err != nil {
		return nil, err
	}
	r.Security = security(creds)

	env, err := p.Environ()
	if err != nil {
		return nil, err
	}
	r.Env = maskEnv(env, opts.ShowSecrets)

	r.Processes = processTree(r.PPID, p.PID)
	r.Namespaces = newSharing(append(peers, p.Target)).of(p.Target, nsInodes(p.PID))

	if r.Cgroups, err = p.Cgroups(); err != nil {
		return nil, err
	}
	if r.Cgroups.Paths == nil {
		r.Cgroups.Paths = map[string]string{}
	}

	// Everything above was read by PID: it was the target's only if the
	// target is still there.
	if err := p.Check(); err != nil {
		return nil, err
	}
	return r, nil
}

func security(st *resolve.Credentials) Security {
	s := Security{
		UID: st.Uids[0], GID: st.Gids[0], Groups: st.Groups,
		Seccomp: procfs.SeccompModeName(st.Seccomp), SeccompFilters: st.SeccompFilters, NoNewPrivs: st.NoNewPrivs,
		LSMLabel: st.LSMLabel,
	}
	if s.Groups == nil {
		s.Groups = []int{}
	}
	c := &s.Capabilities
	c.Effective, c.Permitted, c.Inheritable = names(st.CapEff), names(st.CapPrm), names(st.CapInh)
	c.Bounding, c.Ambient = names(st.CapBnd), names(st.CapAmb)
	c.Added, c.Dropped = procfs.CapDiff(st.CapBnd, procfs.DockerDefaultCaps)
	if c.Added == nil {
		c.Added = []string{}
	}
	if c.Dropped == nil {
		c.Dropped = []string{}
	}
	return s
}

func names(mask uint64) []string {
	n := procfs.CapNames(mask)
	if n == nil {
		return []string{}
	}
	return n
}

func maskEnv(env []string, show bool) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !show && secretKey.MatchString(k) {
			kv = k + "=*****"
		}
		out = append(out, kv)
	}
	return out
}

// processTree lists root (the shim) and the descendants of pid, depth
// first, from one pass over /proc.
func processTree(root, pid int) []Process {
	byPID := map[int]Process{}
	children := map[int][]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		n, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		proc, err := readProcess(n)
		if err != nil {
			continue // gone meanwhile
		}
		byPID[n] = proc
		children[proc.PPID] = append(children[proc.PPID], n)
	}
	var out []Process
	var walk func(n, depth int)
	walk = func(n, depth int) {
		proc, ok := byPID[n]
		if !ok {
			return
		}
		proc.Depth = depth
		out = append(out, proc)
		kids := children[n]
		sort.Ints(kids)
		for _, k := range kids {
			// Only the container's branch below the shim: a shim
			// may serve several containers (Kubernetes pods).
			if depth == 0 && k != pid {
				continue
			}
			walk(k, depth+1)
		}
	}
	if _, ok := byPID[root]; ok {
		walk(root, 0)
	} else {
		walk(pid, 1)
	}
	return out
}

// readProcess reads the stat and command line of pid, both through one
// opened /proc/PID, so that they are one process's.
func readProcess(pid int) (Process, error) {
	pr, err := procfs.OpenProc(pid)
	if err != nil {
		return Process{}, err
	}
	defer pr.Close()
	st, err := pr.Stat()
	if err != nil {
		return Process{}, err
	}
	args, _ := pr.Cmdline()
	return Process{
		PID: pid, PPID: st.PPID,
		Name:    st.Name,
		Cmdline: strings.TrimSpace(strings.Join(args, " ")),
	}, nil
}
