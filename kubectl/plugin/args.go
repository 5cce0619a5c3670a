package plugin

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Flags are the plugin's own flags: kubectl's usual ones (where the
// cluster is, which namespace), the target's container, and how the
// debugger pod is made. Every other flag is ctr-enter's and goes to it.
type Flags struct {
	Kubeconfig string
	Context    string
	Cluster    string
	Namespace  string // "" = the context's namespace
	Container  string

	Image              string
	PullPolicy         corev1.PullPolicy
	CRISocket          string
	ContainerdRoot     string
	KubeletRoot        string
	DaemonSetNamespace string
	DebuggerNamespace  string // "" = the target pod's (the context's for a node)
	RunningTimeout     time.Duration
	TTL                time.Duration

	AllNamespaces bool // gc -A
	Help          bool
}

// DefaultFlags are the flags' defaults: ctr-enter's image as `make image`
// builds it, used as imported into the node (no registry), and the
// containerd paths of a stock node.
func DefaultFlags() Flags {
	return Flags{
		Image:              "ctr-enter:dev",
		PullPolicy:         corev1.PullNever,
		CRISocket:          "/run/containerd/containerd.sock",
		ContainerdRoot:     "/var/lib/containerd",
		KubeletRoot:        "/var/lib/kubelet",
		DaemonSetNamespace: "ctr-enter",
		RunningTimeout:     time.Minute,
		TTL:                time.Hour,
	}
}

// Mode is what the command line asks for.
type Mode int

const (
	ModeEnter Mode = iota
	ModeGC
	ModeHelp
	ModeVersion
)

// Args is a command line split into the plugin's flags, the target, and
// what goes to ctr-enter.
type Args struct {
	Mode  Mode
	Flags Flags
	// Kind is "pod" or "node"; Name the pod's or the node's name.
	Kind, Name string
	// CtrFlags are ctr-enter's flags, as typed; Command the command and
	// its arguments (empty: ctr-enter's default, a shell).
	CtrFlags []string
	Command  []string
	// Interactive and TTY say whether ctr-enter's -i and -t were given.
	Interactive, TTY bool
}

// CtrArgs are the words after the target on ctr-enter's command line.
func (a *Args) CtrArgs() []string {
	out := append([]string{}, a.CtrFlags...)
	if len(a.Command) > 0 {
		// -- always: the command is the user's, whatever it looks like.
		out = append(append(out, "--"), a.Command...)
	}
	return out
}

// pluginFlag is one of the plugin's flags: set stores its value (v is ""
// for a boolean).
type pluginFlag struct {
	long, short string
	value       bool
	set         func(f *Flags, v string) error
}

func str(p func(f *Flags) *string) func(*Flags, string) error {
	return func(f *Flags, v string) error { *p(f) = v; return nil }
}

func dur(name string, p func(f *Flags) *time.Duration) func(*Flags, string) error {
	return func(f *Flags, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("--%s %q: not a positive duration (e.g. 30s, 1h)", name, v)
		}
		*p(f) = d
		return nil
	}
}

var pluginFlags = []pluginFlag{
	{long: "kubeconfig", value: true, set: str(func(f *Flags) *string { return &f.Kubeconfig })},
	{long: "context", value: true, set: str(func(f *Flags) *string { return &f.Context })},
	{long: "cluster", value: true, set: str(func(f *Flags) *string { return &f.Cluster })},
	{long: "namespace", short: "n", value: true, set: str(func(f *Flags) *string { return &f.Namespace })},
	{long: "container", short: "c", value: true, set: str(func(f *Flags) *string { return &f.Container })},
	{long: "debugger-image", value: true, set: str(func(f *Flags) *string { return &f.Image })},
	{long: "debugger-pull-policy", value: true, set: func(f *Flags, v string) error {
		switch p := corev1.PullPolicy(v); p {
		case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
			f.PullPolicy = p
			return nil
		}
		return fmt.Errorf("--debugger-pull-policy %q: one of Always, IfNotPresent, Never", v)
	}},
	{long: "cri-socket", value: true, set: str(func(f *Flags) *string { return &f.CRISocket })},
	{long: "containerd-root", value: true, set: str(func(f *Flags) *string { return &f.ContainerdRoot })},
	{long: "kubelet-root", value: true, set: str(func(f *Flags) *string { return &f.KubeletRoot })},
	{long: "daemonset-namespace", value: true, set: str(func(f *Flags) *string { return &f.DaemonSetNamespace })},
	{long: "debugger-namespace", value: true, set: str(func(f *Flags) *string { return &f.DebuggerNamespace })},
	{long: "pod-running-timeout", value: true, set: dur("pod-running-timeout", func(f *Flags) *time.Duration { return &f.RunningTimeout })},
	{long: "debugger-ttl", value: true, set: dur("debugger-ttl", func(f *Flags) *time.Duration { return &f.TTL })},
	{long: "all-namespaces", short: "A", set: func(f *Flags, _ string) error { f.AllNamespaces = true; return nil }},
	{long: "help", short: "h", set: func(f *Flags, _ string) error { f.Help = true; return nil }},
}

// CtrValueFlags are ctr-enter's flags that take a value (the enter
// command's and the global ones), long and short: the splitter must know
// them so as not to read "-u 0" as a flag followed by the command "0".
// A unit test checks this list against cmd/ctr-enter's grammar.
var CtrValueFlags = map[string]bool{
	"image": true, "user": true, "u": true, "env": true, "e": true, "env-file": true,
	"workdir": true, "w": true, "containerd-address": true, "containerd-namespace": true,
	"docker-host": true, "timeout": true,
}

// Parse splits a command line (the words after "kubectl ctr-enter"):
//
//	[flags] POD|pod/POD|NS/POD[/CONTAINER]|node/NODE [flags] [--] [COMMAND...]
//	gc [flags]
//
// Flags are the plugin's or ctr-enter's, before or after the target; as in
// ctr-enter (docker exec's rule), the first word after the target that is
// no flag starts the command, and -- may separate it.
func Parse(words []string) (*Args, error) {
	a := &Args{Flags: DefaultFlags()}
	target := ""
	rest := words
	for len(rest) > 0 {
		w := rest[0]
		if w == "--" {
			if target == "" {
				return nil, fmt.Errorf("no pod named before --")
			}
			a.Command = rest[1:]
			break
		}
		if !strings.HasPrefix(w, "-") || w == "-" {
			if target != "" || a.Mode == ModeGC {
				a.Command = rest
				break
			}
			switch w {
			case "gc":
				a.Mode = ModeGC
			case "version":
				a.Mode = ModeVersion
			case "help":
				a.Mode = ModeHelp
			default:
				target = w
			}
			if a.Mode != ModeEnter {
				target = "-" // no target to come
			}
			rest = rest[1:]
			continue
		}
		n, err := a.flag(rest)
		if err != nil {
			return nil, err
		}
		rest = rest[n:]
	}
	if a.Flags.Help {
		a.Mode = ModeHelp
	}
	switch a.Mode {
	case ModeHelp, ModeVersion:
		return a, nil
	case ModeGC:
		if len(a.Command) > 0 || len(a.CtrFlags) > 0 {
			return nil, fmt.Errorf("gc takes only the plugin's flags (-n, -A, --context, --kubeconfig), not %q", strings.Join(append(a.CtrFlags, a.Command...), " "))
		}
		return a, nil
	}
	if target == "" {
		return nil, fmt.Errorf("no pod named: kubectl ctr-enter [-n NS] POD [-c CONTAINER] [FLAGS] [--] [COMMAND...] (see --help)")
	}
	if err := a.parseTarget(target); err != nil {
		return nil, err
	}
	if a.Kind == "node" && a.Flags.Container != "" {
		return nil, fmt.Errorf("-c %s: a node has no containers to choose from", a.Flags.Container)
	}
	return a, nil
}

// parseTarget reads kubectl's TYPE/NAME (pod/POD, node/NODE), a bare pod
// name, or ctr-enter's names of pods on a node: NS/POD and
// NS/POD/CONTAINER. A namespace named like a type is reached with -n.
func (a *Args) parseTarget(t string) error {
	parts := strings.Split(t, "/")
	for _, p := range parts {
		if p == "" {
			return fmt.Errorf("%q: name a pod as POD, pod/POD, NS/POD or NS/POD/CONTAINER, or a node as node/NODE", t)
		}
	}
	a.Kind, a.Name = "pod", parts[len(parts)-1]
	switch {
	case len(parts) == 1:
		return nil
	case len(parts) == 2 && (parts[0] == "pod" || parts[0] == "pods" || parts[0] == "po"):
		return nil
	case len(parts) == 2 && (parts[0] == "node" || parts[0] == "nodes" || parts[0] == "no"):
		a.Kind = "node"
		return nil
	case len(parts) > 3:
		return fmt.Errorf("%q: name a pod as POD, pod/POD, NS/POD or NS/POD/CONTAINER, or a node as node/NODE", t)
	}
	ns := parts[0]
	if a.Flags.Namespace != "" && a.Flags.Namespace != ns {
		return fmt.Errorf("%s names namespace %s, -n %s another", t, ns, a.Flags.Namespace)
	}
	a.Flags.Namespace, a.Name = ns, parts[1]
	if len(parts) == 3 {
		if a.Flags.Container != "" && a.Flags.Container != parts[2] {
			return fmt.Errorf("%s names container %s, -c %s another", t, parts[2], a.Flags.Container)
		}
		a.Flags.Container = parts[2]
	}
	return nil
}

// flag consumes the flag at words[0] (and its value), the plugin's or
// ctr-enter's, and says how many words it took.
func (a *Args) flag(words []string) (int, error) {
	w := words[0]
	if strings.HasPrefix(w, "--") {
		name, value, inline := strings.Cut(w[2:], "=")
		if f, ok := lookupPlugin(func(f pluginFlag) bool { return f.long == name }); ok {
			return a.setPlugin(f, "--"+name, value, inline, words[1:])
		}
		a.noteIO(name)
		return a.passCtr(words, CtrValueFlags[name] && !inline)
	}
	// A group of short flags: -it, -nshop, -n=shop, -u0.
	group := w[1:]
	for i := 0; i < len(group); i++ {
		c := group[i : i+1]
		if f, ok := lookupPlugin(func(f pluginFlag) bool { return f.short == c }); ok {
			if i > 0 {
				return 0, fmt.Errorf("%s: give -%s on its own, not grouped with ctr-enter's flags", w, c)
			}
			value, inline := strings.TrimPrefix(group[i+1:], "="), i+1 < len(group)
			return a.setPlugin(f, "-"+c, value, inline, words[1:])
		}
		a.noteIO(c)
		if CtrValueFlags[c] {
			// The rest of the group is its value, else the next word.
			return a.passCtr(words, i+1 == len(group))
		}
	}
	return a.passCtr(words, false)
}

func lookupPlugin(match func(pluginFlag) bool) (pluginFlag, bool) {
	for _, f := range pluginFlags {
		if match(f) {
			return f, true
		}
	}
	return pluginFlag{}, false
}

// noteIO notes ctr-enter's -i and -t (long or short name), which decide
// the streams the exec asks for.
func (a *Args) noteIO(name string) {
	switch name {
	case "interactive", "i":
		a.Interactive = true
	case "tty", "t":
		a.TTY = true
	}
}

func (a *Args) setPlugin(f pluginFlag, name, value string, inline bool, next []string) (int, error) {
	n := 1
	if f.value && !inline {
		if len(next) == 0 {
			return 0, fmt.Errorf("%s needs a value", name)
		}
		value, n = next[0], 2
	}
	if !f.value && inline {
		return 0, fmt.Errorf("%s takes no value", name)
	}
	return n, f.set(&a.Flags, value)
}

// passCtr hands ctr-enter's flag at words[0] on, with the next word when
// it is the flag's value.
func (a *Args) passCtr(words []string, takesNext bool) (int, error) {
	if !takesNext {
		a.CtrFlags = append(a.CtrFlags, words[0])
		return 1, nil
	}
	if len(words) < 2 {
		return 0, fmt.Errorf("%s needs a value", words[0])
	}
	a.CtrFlags = append(a.CtrFlags, words[0], words[1])
	return 2, nil
}
