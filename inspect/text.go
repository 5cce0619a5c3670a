package inspect

import (
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ctr-enter/ctr-enter/internal/text"
)

// WriteText prints r for people: sections, aligned columns, and colour for
// the headings when color is set (a terminal). Every string in r is printed
// cleaned of control characters.
func WriteText(out io.Writer, r *Report, color bool) error {
	r = cleaned(r)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	heading := func(s string) {
		if color {
			s = "\x1b[1m" + s + "\x1b[0m"
		}
		fmt.Fprintf(w, "\n%s\n", s)
	}
	writeTitle(w, &r.Identity, color)
	fmt.Fprintf(w, "  pid\t%d (parent %d)\n", r.PID, r.PPID)

	heading("Processes")
	for _, p := range r.Processes {
		fmt.Fprintf(w, "  %s%d\t%s\t%s\n", strings.Repeat("  ", p.Depth), p.PID, p.Name, truncate(p.Cmdline, 100))
	}

	heading("Environment")
	for _, kv := range r.Env {
		fmt.Fprintf(w, "  %s\n", kv)
	}

	heading("Namespaces")
	fmt.Fprintf(w, "  KIND\tINODE\tHOST'S\tSHARED WITH\n")
	for _, ns := range r.Namespaces {
		fmt.Fprintf(w, "  %s\t%d\t%s\t%s\n", ns.Kind, ns.Inode, yesNo(ns.SharedWithHost), orDash(strings.Join(ns.SharedWithNames, ", ")))
	}

	c := r.Cgroups
	heading(fmt.Sprintf("Cgroups (v%d)", c.Version))
	if path, same := onePath(c.Paths); same {
		fmt.Fprintf(w, "  path\t%s (every hierarchy)\n", path)
	} else {
		for _, key := range sortedKeys(c.Paths) {
			name := key
			if name == "" {
				name = "unified"
			}
			fmt.Fprintf(w, "  %s\t%s\n", name, c.Paths[key])
		}
	}
	fmt.Fprintf(w, "  cpu\tshares %s, weight %s, quota %s, period %s, usage %s, throttled %s of %s periods (%s)\n",
		num(c.CPU.Shares), num(c.CPU.Weight), limit(c.CPU.QuotaUs, "µs"), withUnit(c.CPU.PeriodUs, "µs"),
		nanos(c.CPU.UsageNs), num(c.CPU.NrThrottled), num(c.CPU.NrPeriods), nanos(c.CPU.ThrottledNs))
	fmt.Fprintf(w, "  memory\tlimit %s, usage %s, peak %s, oom events %s, oom kills %s\n",
		limit(c.Memory.Limit, " bytes"), withUnit(c.Memory.Usage, " bytes"), withUnit(c.Memory.Peak, " bytes"),
		num(c.Memory.OOMEvents), num(c.Memory.OOMKills))
	fmt.Fprintf(w, "  pids\tlimit %s, current %s\n", limit(c.Pids.Limit, ""), num(c.Pids.Current))

	s := r.Security
	heading("Security")
	fmt.Fprintf(w, "  uid, gid\t%d, %d (groups %s)\n", s.UID, s.GID, orDash(joinInts(s.Groups)))
	fmt.Fprintf(w, "  seccomp\t%s (%d filters)\n", s.Seccomp, s.SeccompFilters)
	fmt.Fprintf(w, "  no_new_privs\t%s\n", yesNo(s.NoNewPrivs))
	fmt.Fprintf(w, "  lsm label\t%s\n", orDash(s.LSMLabel))
	caps := s.Capabilities
	for _, set := range []struct {
		name  string
		names []string
	}{{"effective", caps.Effective}, {"permitted", caps.Permitted}, {"inheritable", caps.Inheritable},
		{"bounding", caps.Bounding}, {"ambient", caps.Ambient},
		{"added to default", caps.Added}, {"dropped from default", caps.Dropped}} {
		fmt.Fprintf(w, "  %s\t%s\n", set.name, orDash(strings.Join(set.names, " ")))
	}
	return w.Flush()
}

// cleaned is a copy of r with every string in it, map keys included,
// passed through resolve.Clean. Nearly all of a report's text comes from the
// target (process names, command lines, environment, cgroup paths, LSM
// label) or from whoever created it (names, image): an escape sequence
// there would reach the operator's terminal, and a newline would forge a
// line. The copy is made in one pass over the whole value, so that a field
// added later is cleaned without anyone remembering to; the report itself
// keeps the exact text for JSON, which escapes control characters itself.
func cleaned(r *Report) *Report {
	return cleanValue(reflect.ValueOf(r)).Interface().(*Report)
}

func cleanValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.String:
		return reflect.ValueOf(text.Clean(v.String())).Convert(v.Type())
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(cleanValue(v.Elem()))
		return p
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		for i := range v.NumField() {
			if out.Field(i).CanSet() {
				out.Field(i).Set(cleanValue(v.Field(i)))
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(cleanValue(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(cleanValue(it.Key()), cleanValue(it.Value()))
		}
		return out
	}
	return v
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func num(v *uint64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprint(*v)
}

func withUnit(v *uint64, unit string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprint(*v) + unit
}

func limit(v *int64, unit string) string {
	switch {
	case v == nil:
		return "-"
	case *v < 0:
		return "none"
	}
	return fmt.Sprint(*v) + unit
}

func nanos(v *uint64) string {
	if v == nil {
		return "-"
	}
	return time.Duration(*v).String()
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " ")
}

// onePath reports whether every hierarchy puts the cgroup at one path, as
// runtimes do.
func onePath(paths map[string]string) (string, bool) {
	var first string
	for _, p := range paths {
		if first == "" {
			first = p
		} else if p != first {
			return "", false
		}
	}
	return first, first != ""
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// writeTitle writes the lines that name a container, cleaned already.
func writeTitle(w io.Writer, c *Identity, color bool) {
	title := c.Name + "  " + c.Ref
	if color {
		title = "\x1b[1m" + c.Name + "\x1b[0m  " + c.Ref
	}
	fmt.Fprintln(w, title)
	fmt.Fprintf(w, "  runtime\t%s (namespace %s)\n", c.Runtime, orDash(c.Namespace))
	fmt.Fprintf(w, "  id\t%s\n", c.ID)
	fmt.Fprintf(w, "  image\t%s\n", orDash(c.Image))
	if p := c.Pod; p != nil {
		role := "container " + p.Container
		if p.Sandbox {
			role = "sandbox"
		}
		fmt.Fprintf(w, "  pod\t%s/%s (uid %s), %s, attempt %d\n", p.Namespace, p.Name, orDash(p.UID), role, p.Attempt)
		fmt.Fprintf(w, "  qos class\t%s\n", orDash(p.QoSClass))
		fmt.Fprintf(w, "  pod cgroup\t%s\n", orDash(p.Cgroup))
		for _, k := range sortedKeys(p.Labels) {
			fmt.Fprintf(w, "  label\t%s=%s\n", k, p.Labels[k])
		}
		for _, k := range sortedKeys(p.Annotations) {
			fmt.Fprintf(w, "  annotation\t%s=%s\n", k, truncate(p.Annotations[k], 100))
		}
	}
}
