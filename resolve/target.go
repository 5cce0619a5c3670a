// Package resolve resolves what a user names on the command line (a container
// name, ID or ID prefix, an explicit runtime form, or a PID) to one running
// process, through every container runtime that is reachable, and opens it as
// a pidfd that cannot be recycled.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ctr-enter/ctr-enter/internal/text"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

// PID is the Runtime of a bare process: a target that no runtime names.
const PID = "pid"

// Target is one container, as its runtime describes it, or a bare process
// (Runtime PID). Text fields come from the runtime and, through it, from
// whoever created the container: print them cleaned (internal/text).
type Target struct {
	*runtimes.Container

	// What Open checks the process behind PID against, besides the
	// container's cgroups: the start time seen when the runtime named it.
	startTime uint64
	started   bool
}

// String is how the target is named in messages: the explicit form that
// pins it, cleaned of control characters.
func (t *Target) String() string {
	if t.Runtime == PID {
		return fmt.Sprintf("pid:%d", t.PID)
	}
	return t.Ref()
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
		r = Ref{Runtime: runtimes.Docker, Name: strings.TrimPrefix(s, "docker://")}
	case strings.HasPrefix(s, "containerd://"):
		r.Runtime = runtimes.Containerd
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

// Resolve finds the one running target ref names. It queries the runtimes
// in parallel, each bounded by opts.Timeout. A runtime whose socket does
// not exist is skipped silently unless ref pins it; one that fails or hangs
// is reported in the error if nothing else matches, and warned about
// through warn otherwise (it might have held a second match).
func Resolve(ctx context.Context, ref Ref, opts runtimes.Options, warn func(error)) (*Target, error) {
	return lookup(ctx, ref, opts, warn, true)
}

// Find finds the one container ref names, running or not, as its runtime
// lists it (no PID, environment or working directory).
func Find(ctx context.Context, ref Ref, opts runtimes.Options, warn func(error)) (*Target, error) {
	return lookup(ctx, ref, opts, warn, false)
}

func lookup(ctx context.Context, ref Ref, opts runtimes.Options, warn func(error), running bool) (*Target, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	backends, err := openBackends(ref, opts)
	if err != nil {
		return nil, err
	}
	defer closeAll(backends)
	t, err := find(ctx, backends, ref, warn)
	if err != nil || !running {
		return t, err
	}
	for _, b := range backends {
		if b.Runtime() == t.Runtime {
			if err := b.Describe(ctx, t.Container); err != nil {
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

func find(ctx context.Context, backends []runtimes.Backend, ref Ref, warn func(error)) (*Target, error) {
	var pidTarget *Target
	if ref.Runtime == "" || ref.Runtime == PID {
		pidTarget = pidCandidate(ref.Name)
	}
	all, failures := listAll(ctx, backends, ref.Runtime != "")
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
func List(ctx context.Context, opts runtimes.Options) ([]*Target, []error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	backends, err := openBackends(Ref{}, opts)
	if err != nil {
		return nil, []error{err}
	}
	defer closeAll(backends)
	return listAll(ctx, backends, false)
}

// openBackends returns the runtimes ref may be found in.
func openBackends(ref Ref, opts runtimes.Options) ([]runtimes.Backend, error) {
	var backends []runtimes.Backend
	for _, name := range runtimes.Names {
		if ref.Runtime != "" && ref.Runtime != name {
			continue
		}
		b, err := runtimes.Open(opts, name, ref.Namespace)
		if err != nil {
			closeAll(backends)
			return nil, err
		}
		backends = append(backends, b)
	}
	return backends, nil
}

func closeAll(backends []runtimes.Backend) {
	for _, b := range backends {
		b.Close()
	}
}

// listAll asks every runtime at once. A runtime whose daemon is not
// installed is a failure only when the reference pinned it.
func listAll(ctx context.Context, backends []runtimes.Backend, pinned bool) (_ []*Target, failures []error) {
	results := make([][]*runtimes.Container, len(backends))
	errs := make([]error, len(backends))
	var wg sync.WaitGroup
	for i, b := range backends {
		wg.Go(func() { results[i], errs[i] = b.List(ctx) })
	}
	wg.Wait()
	var all []*runtimes.Container
	for i, err := range errs {
		switch {
		case errors.Is(err, runtimes.ErrNoDaemon) && !pinned:
			// Not installed here: nothing to say.
		case err != nil:
			failures = append(failures, err)
		default:
			all = append(all, results[i]...)
		}
	}
	return targetsOf(runtimes.Dedupe(all)), failures
}

func targetsOf(cs []*runtimes.Container) []*Target {
	ts := make([]*Target, len(cs))
	for i, c := range cs {
		ts[i] = &Target{Container: c}
	}
	return ts
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
		if slices.Contains(t.Names, name) {
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
	ErrInvalidRef = errors.New("invalid target")
	ErrNotFound   = errors.New("no such container or process")
	ErrAmbiguous  = errors.New("ambiguous target")
	ErrNotRunning = errors.New("container is not running")
	ErrVanished   = runtimes.ErrVanished
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
