package inspect

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"

	"github.com/ctr-enter/ctr-enter/resolve"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

// StoppedReport is what inspect tells about a container that is not
// running: what its runtime's config and its files say. The live fields of
// a Report (its processes, namespaces, cgroups and security, all read from
// its process) do not exist, and Absent names them.
type StoppedReport struct {
	Identity
	Status   string   `json:"status"`
	Env      []string `json:"env"`
	Cwd      string   `json:"cwd"`
	Hostname string   `json:"hostname"`
	User     string   `json:"user"`
	RootFS   RootFS   `json:"rootfs"`
	Absent   []string `json:"absent"`
}

// RootFS is where a stopped container's files are on the host: its image
// layers, top first, and its own writable layer.
type RootFS struct {
	Lower []string `json:"lower"`
	Upper string   `json:"upper"`
}

// absent are a Report's fields that only a running container has.
var absent = []string{"pid", "ppid", "processes", "namespaces", "cgroups", "security"}

// InspectStopped reports on t, which is not running, from its runtime's
// description of it (Env, Cwd) and of its files (st).
func InspectStopped(t *resolve.Target, st *runtimes.Stopped, opts Options) *StoppedReport {
	r := &StoppedReport{
		Identity: identityOf(t),
		Status:   t.Status, Env: maskEnv(t.Env, opts.ShowSecrets), Cwd: t.Cwd,
		Hostname: st.Config.Hostname, User: st.Config.User,
		RootFS: RootFS{Lower: st.RootFS.Lower, Upper: st.RootFS.Upper}, Absent: absent,
	}
	if r.Cwd == "" {
		r.Cwd = "/"
	}
	if r.RootFS.Lower == nil {
		r.RootFS.Lower = []string{}
	}
	return r
}

// WriteStoppedText writes r for a person, cleaned of control characters.
func WriteStoppedText(out io.Writer, r *StoppedReport, color bool) error {
	r = cleanValue(reflect.ValueOf(r)).Interface().(*StoppedReport)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	writeTitle(w, &r.Identity, color)
	fmt.Fprintf(w, "  status\t%s: no process, so no %s (enter it: a session over its files)\n", r.Status, strings.Join(r.Absent, ", "))
	fmt.Fprintf(w, "  hostname\t%s\n", orDash(r.Hostname))
	fmt.Fprintf(w, "  user\t%s\n", orDash(r.User))
	fmt.Fprintf(w, "  workdir\t%s\n", r.Cwd)
	fmt.Fprintf(w, "\nEnvironment\n")
	for _, kv := range r.Env {
		fmt.Fprintf(w, "  %s\n", kv)
	}
	fmt.Fprintf(w, "\nFiles\n")
	fmt.Fprintf(w, "  writable layer\t%s\n", orDash(r.RootFS.Upper))
	for i, l := range r.RootFS.Lower {
		fmt.Fprintf(w, "  layer %d\t%s\n", i+1, l)
	}
	return w.Flush()
}
