// Package resolve resolves what a user names on the command line (a container
// name, ID or ID prefix, an explicit runtime form, or a PID) to one running
// process, through every container runtime that is reachable, and opens it as
// a pidfd that cannot be recycled.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ctr-enter/ctr-enter/internal/text"
)

// Runtime names, as they appear in explicit references and in output.
const (
	Containerd = "containerd"
	Docker     = "docker"
	PID        = "pid"
)

// Target is one container (or bare process) as its runtime describes it.
// Text fields come from the runtime and, through it, from whoever created the
// container: print them with Clean.
type Target struct {
	Runtime   string // Containerd, Docker or PID
	Namespace string // containerd namespace ("moby" for Docker's own containers)
	ID        string // full ID; for PID targets, the PID
	Name      string // the name users know it by (Docker name, CRI name, or ID)
	Image     string
	Labels    map[string]string
	Status    string // as the runtime says: running, paused, stopped, created, exited...
	Running   bool
	PID       int // host PID of the container's init process, when running

	// From the runtime's config, for the processes started inside: nil Env
	// means the runtime does not say (bare PIDs), and /proc/PID/environ is
	// used instead.
	Env []string
	Cwd string

	names []string // everything the target can be called by, besides its ID

	// What Open checks the process behind PID against, as seen when the
	// runtime named it: the cgroups the runtime may have put the
	// container in (containers only), and the process's start time.
	cgroups   []string
	startTime uint64
	started   bool
}

// String is how the target is named in messages: the explicit form that
// pins it, cleaned of control characters.
func (t *Target) String() string {
	switch t.Runtime {
	case Containerd:
		return text.Clean(fmt.Sprintf("containerd://%s/%s", t.Namespace, t.ID))
	case Docker:
		return text.Clean(fmt.Sprintf("docker://%s", t.Name))
	default:
		return fmt.Sprintf("pid:%d", t.PID)
	}
}

// Options says where the runtimes are.
type Options struct {
	ContainerdAddress   string
	ContainerdNamespace string // when set, the only containerd namespace searched
	DockerHost          string
	// Timeout bounds every call to a runtime; a daemon that does not answer
	// in time is reported as such.
	Timeout time.Duration
}

// Where the runtimes listen unless told otherwise.
const (
	DefaultContainerdAddress = "/run/containerd/containerd.sock"
	DefaultDockerHost        = "unix:///var/run/docker.sock"
)

// OptionsFromEnv fills the runtime locations from the environment, as ctr and
// docker do, for callers that have no flags (shell completion).
func OptionsFromEnv(timeout time.Duration) Options {
	o := Options{
		ContainerdAddress:   os.Getenv("CONTAINERD_ADDRESS"),
		ContainerdNamespace: os.Getenv("CONTAINERD_NAMESPACE"),
		DockerHost:          os.Getenv("DOCKER_HOST"),
		Timeout:             timeout,
	}
	if o.ContainerdAddress == "" {
		o.ContainerdAddress = DefaultContainerdAddress
	}
	if o.DockerHost == "" {
		o.DockerHost = DefaultDockerHost
	}
	return o
}

// Ref is a parsed target reference.
type Ref struct {
	Runtime   string // "" for any runtime
	Namespace string // containerd namespace, for containerd://NS/ID
	Name      string // name, ID or ID prefix; for PID refs, the number
}

// ParseRef parses the forms a user may give:
//
//	NAME | ID | ID-PREFIX | PID          any runtime (a number may also be a PID)
//	docker://NAME                        Docker only
//	containerd://NAME                    containerd, every namespace
//	containerd://NAMESPACE/NAME          containerd, one namespace
//	pid:N | pid://N                      a bare process
func ParseRef(s string) (Ref, error) {
	var r Ref
	switch {
	case strings.HasPrefix(s, "docker://"):
		r = Ref{Runtime: Docker, Name: strings.TrimPrefix(s, "docker://")}
	case strings.HasPrefix(s, "containerd://"):
		r.Runtime = Containerd
		rest := strings.TrimPrefix(s, "containerd://")
		if ns, name, ok := strings.Cut(rest, "/"); ok {
			r.Namespace, r.Name = ns, name
			if ns == "" {
				return Ref{}, fmt.Errorf("%w: %q: empty containerd namespace", ErrInvalidRef, text.Clean(s))
			}
		} else {
			r.Name = rest
		}
	case strings.HasPrefix(s, "pid://"), strings.HasPrefix(s, "pid:"):
		r = Ref{Runtime: PID, Name: strings.TrimPrefix(strings.TrimPrefix(s, "pid:"), "//")}
		if n, err := strconv.Atoi(r.Name); err != nil || n <= 0 {
			return Ref{}, fmt.Errorf("%w: %q: not a PID", ErrInvalidRef, text.Clean(s))
		}
	default:
		r.Name = s
	}
	if r.Name == "" {
		return Ref{}, fmt.Errorf("%w: %q: empty name", ErrInvalidRef, text.Clean(s))
	}
	return r, nil
}

func (r Ref) String() string {
	switch {
	case r.Runtime == "":
		return text.Clean(r.Name)
	case r.Runtime == PID:
		return "pid:" + r.Name
	case r.Namespace != "":
		return text.Clean(r.Runtime + "://" + r.Namespace + "/" + r.Name)
	default:
		return text.Clean(r.Runtime + "://" + r.Name)
	}
}

// A source is one runtime's view of its containers.
type source interface {
	name() string
	// list returns every container the source knows, with at least
	// Runtime, Namespace, ID and names filled in. A *noDaemonError means
	// the runtime is not installed here.
	list(ctx context.Context) ([]*Target, error)
	// describe fills in the rest (state, PID, env, cwd) for one of them.
	describe(ctx context.Context, t *Target) error
	close() error
}

// Resolve finds the one running target ref names. It queries the runtimes
// in parallel, each bounded by opts.Timeout. A runtime whose socket does
// not exist is skipped silently unless ref pins it; one that fails or hangs
// is reported in the error if nothing else matches, and warned about
// through warn otherwise (it might have held a second match).
func Resolve(ctx context.Context, ref Ref, opts Options, warn func(error)) (*Target, error) {
	return lookup(ctx, ref, opts, warn, true)
}

// Find finds the one container ref names, running or not, as its runtime
// lists it (no PID, environment or working directory).
func Find(ctx context.Context, ref Ref, opts Options, warn func(error)) (*Target, error) {
	return lookup(ctx, ref, opts, warn, false)
}

func lookup(ctx context.Context, ref Ref, opts Options, warn func(error), running bool) (*Target, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	sources, err := openSources(ref, opts)
	if err != nil {
		return nil, err
	}
	defer closeAll(sources)
	t, err := find(ctx, sources, ref, warn)
	if err != nil || !running {
		return t, err
	}
	for _, s := range sources {
		if s.name() == t.Runtime {
			if err := s.describe(ctx, t); err != nil {
				return nil, err
			}
		}
	}
	if !t.Running {
		return nil, fmt.Errorf("%w: %s", ErrNotRunning, t)
	}
	// Right after the runtime named the PID: Open refuses a process that
	// started at another time, one that took the PID since.
	if t.startTime, err = readStartTime(t); err != nil {
		return nil, err
	}
	t.started = true
	return t, nil
}

func find(ctx context.Context, sources []source, ref Ref, warn func(error)) (*Target, error) {
	var pidTarget *Target
	if ref.Runtime == "" || ref.Runtime == PID {
		pidTarget = pidCandidate(ref.Name)
	}
	all, failures := listAll(ctx, sources, ref.Runtime != "")
	if pidTarget != nil {
		all = append(all, pidTarget)
	}

	matches := match(all, ref.Name)
	switch {
	case len(matches) == 0 && len(failures) == 1 && ref.Runtime != "":
		return nil, failures[0]
	case len(matches) == 0 && len(failures) > 0:
		return nil, fmt.Errorf("%w: %s (also: %w)", ErrNotFound, ref, joinLine(failures))
	case len(matches) == 0:
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	case len(matches) > 1:
		return nil, &AmbiguousError{Ref: ref, Candidates: matches}
	}
	for _, f := range failures {
		if warn != nil {
			warn(f)
		}
	}
	return matches[0], nil
}

// List returns every container the reachable runtimes know, running or
// not, with the runtimes that failed to answer. A runtime that is not
// installed here is not a failure.
func List(ctx context.Context, opts Options) ([]*Target, []error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	sources, err := openSources(Ref{}, opts)
	if err != nil {
		return nil, []error{err}
	}
	defer closeAll(sources)
	return listAll(ctx, sources, false)
}

// openSources returns the runtimes ref may be found in.
func openSources(ref Ref, opts Options) ([]source, error) {
	var sources []source
	if ref.Runtime == "" || ref.Runtime == Containerd {
		ns := ref.Namespace
		if ns == "" {
			ns = opts.ContainerdNamespace
		}
		sources = append(sources, newContainerd(opts.ContainerdAddress, ns))
	}
	if ref.Runtime == "" || ref.Runtime == Docker {
		d, err := newDocker(opts.DockerHost)
		if err != nil {
			return nil, err
		}
		sources = append(sources, d)
	}
	return sources, nil
}

func closeAll(sources []source) {
	for _, s := range sources {
		s.close()
	}
}

// listAll asks every source at once. A source whose daemon is not installed
// is a failure only when the reference pinned it.
func listAll(ctx context.Context, sources []source, pinned bool) (all []*Target, failures []error) {
	results := make([][]*Target, len(sources))
	errs := make([]error, len(sources))
	var wg sync.WaitGroup
	for i, s := range sources {
		wg.Go(func() { results[i], errs[i] = s.list(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		var noDaemon *noDaemonError
		switch {
		case errors.As(err, &noDaemon) && !pinned:
			// Not installed here: nothing to say.
		case err != nil:
			failures = append(failures, err)
		default:
			all = append(all, results[i]...)
		}
	}
	return dedupe(all), failures
}

// dedupe drops containerd's view of Docker's containers (namespace moby,
// the full Docker ID as containerd ID) when Docker itself listed them: a
// container seen through both APIs is one target, named the Docker way. The
// PID, which Docker's listing lacks, is taken from containerd's.
func dedupe(ts []*Target) []*Target {
	docker := map[string]*Target{}
	for _, t := range ts {
		if t.Runtime == Docker {
			docker[t.ID] = t
		}
	}
	out := ts[:0]
	for _, t := range ts {
		if d := docker[t.ID]; t.Runtime == Containerd && t.Namespace == "moby" && d != nil {
			if d.PID == 0 && d.Running {
				d.PID = t.PID
			}
			continue
		}
		out = append(out, t)
	}
	return out
}

// match finds the targets name may mean. Exact IDs, exact names and ID
// prefixes are collected alike, so that one container cannot take a word
// away from another: a name is chosen by whoever creates the container (and
// on containerd may come from an image's labels), so a word that is one
// container's ID or ID prefix and another's name is ambiguous, never
// silently the named one. Otherwise a unique exact ID wins, then names, and
// only when nothing else matches, ID prefixes (unique, as docker and nerdctl
// want them). A live PID counts as a name: a number that is both a PID and
// an ID prefix is ambiguous too.
func match(ts []*Target, name string) []*Target {
	var exactID, byName, byPrefix []*Target
	for _, t := range ts {
		if t.Runtime == PID {
			if t.ID == name {
				byName = append(byName, t)
			}
			continue
		}
		switch {
		case t.ID == name:
			exactID = append(exactID, t)
		case strings.HasPrefix(t.ID, name):
			byPrefix = append(byPrefix, t)
		}
		if contains(t.names, name) {
			byName = append(byName, t)
		}
	}
	if len(exactID)+len(byPrefix) > 0 && len(byName) > 0 {
		// One container whose name is also (a prefix of) its own ID is
		// not an ambiguity.
		if all := inOrder(ts, exactID, byPrefix, byName); len(all) > 1 {
			return all
		}
	}
	switch {
	case len(exactID) > 0:
		return exactID
	case len(byName) > 0:
		return byName
	}
	return byPrefix
}

// inOrder is every target of ts that is in one of the sets, once, in the
// order of ts.
func inOrder(ts []*Target, sets ...[]*Target) []*Target {
	in := map[*Target]bool{}
	for _, set := range sets {
		for _, t := range set {
			in[t] = true
		}
	}
	var out []*Target
	for _, t := range ts {
		if in[t] {
			out = append(out, t)
			delete(in, t)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// joinLine joins errors on one line, for one-line messages.
func joinLine(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%s: %w", strings.Join(msgs, "; "), errs[0])
}

// Error classes. Callers test with errors.Is; messages carry the details.
var (
	ErrInvalidRef  = errors.New("invalid target")
	ErrNotFound    = errors.New("no such container or process")
	ErrAmbiguous   = errors.New("ambiguous target")
	ErrNotRunning  = errors.New("container is not running")
	ErrUnavailable = errors.New("runtime unavailable")
	ErrVanished    = errors.New("target process is gone")
	// The runtime's configuration does not say where the container's
	// processes are, so a recycled PID could not be told from them.
	ErrUnverifiable = errors.New("cannot verify the target's process")
)

// AmbiguousError lists every target a reference could mean.
type AmbiguousError struct {
	Ref        Ref
	Candidates []*Target
}

func (e *AmbiguousError) Error() string {
	names := make([]string, len(e.Candidates))
	for i, c := range e.Candidates {
		names[i] = c.String()
	}
	sort.Strings(names)
	return fmt.Sprintf("%s: %s matches %d targets: %s", ErrAmbiguous, e.Ref, len(names), strings.Join(names, ", "))
}

func (e *AmbiguousError) Unwrap() error { return ErrAmbiguous }
