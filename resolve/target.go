// Package resolve resolves what a user names on the command line (a container
// name, ID or generated-ID prefix, an explicit runtime form, or a PID) to one running
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

// Display is how a person knows the target: a Kubernetes pod's container
// as NAMESPACE/POD/CONTAINER, its sandbox as NAMESPACE/POD (sandbox),
// others by their explicit form (String). Cleaned of control characters.
func (t *Target) Display() string {
	if n := t.podName(); n != "" {
		return n
	}
	return t.String()
}

// podName is the Display of a pod's container or sandbox, "" for others.
func (t *Target) podName() string {
	switch {
	case t.Pod == nil:
		return ""
	case t.PodRole.Sandbox:
		return text.Clean(t.Pod.String()) + " (sandbox)"
	}
	return text.Clean(t.Name)
}

// Ref is a parsed target reference.
type Ref struct {
	Runtime   string // "" for any runtime
	Namespace string // containerd namespace, for containerd://NS/ID
	Name      string // name, ID or ID prefix; for PID refs, the number
	// Sandbox: a Kubernetes pod's container stands for its pod's sandbox
	// (the pod's own namespaces).
	Sandbox bool
}

// ParseRef parses the forms a user may give:
//
//	NAME | ID | ID-PREFIX | PID          any runtime (a number may also be a PID;
//	                                     prefixes only of generated IDs, see match)
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
		if scheme, _, ok := strings.Cut(s, "://"); ok && isScheme(scheme) {
			return Ref{}, fmt.Errorf("%w: %q: unknown scheme %s:// (known: docker://, containerd://, pid:)", ErrInvalidRef, text.Clean(s), text.Clean(scheme))
		}
		r.Name = s
	}
	if r.Name == "" {
		return Ref{}, fmt.Errorf("%w: %q: empty name", ErrInvalidRef, text.Clean(s))
	}
	return r, nil
}

// isScheme says whether s has the form of a URL scheme (RFC 3986): a word
// such as k8s or cri-o before "://" is a form ctr-enter does not know, not
// a name (no runtime allows "://" in one).
func isScheme(s string) bool {
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// ImageScheme is the form that names an image's files as a target
// (image://REF): no runtime's container, so not a Ref.
const ImageScheme = "image://"

// ImageRef is the image reference of an image:// target, if s is one.
func ImageRef(s string) (string, bool) {
	ref, ok := strings.CutPrefix(s, ImageScheme)
	if !ok || ref == "" {
		return "", false
	}
	return ref, true
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
// in parallel, each bounded by opts.Timeout. A runtime that cannot be
// asked (no socket, refused, no answer in time, a DOCKER_HOST ctr-enter
// cannot use) is named in the error if nothing matches, since it might
// have held the target; if something matches, one that fails is warned
// about through warn (it might have held a second match), one that is not
// installed here is not.
func Resolve(ctx context.Context, ref Ref, opts runtimes.Options, warn func(error)) (*Target, error) {
	return lookup(ctx, ref, opts, warn, running, nil)
}

// ResolveAny is Resolve, but a container that is not running is found too,
// described (Env, Cwd) and returned with Running false: a target for a
// session over its files (see Stopped), not one to Open.
func ResolveAny(ctx context.Context, ref Ref, opts runtimes.Options, warn func(error)) (*Target, error) {
	return lookup(ctx, ref, opts, warn, runningOrNot, nil)
}

// ResolveAnyListing is ResolveAny, and what List returns, for a command
// that needs both (inspect's peers): when ref searches every runtime, they
// are listed once. Failures to list were warned about through warn.
func ResolveAnyListing(ctx context.Context, ref Ref, opts runtimes.Options, warn func(error)) (*Target, []*Target, []error, error) {
	return lookupListing(ctx, ref, opts, warn, runningOrNot)
}

// FindListing is Find, and what List returns, as ResolveAnyListing.
func FindListing(ctx context.Context, ref Ref, opts runtimes.Options, warn func(error)) (*Target, []*Target, []error, error) {
	return lookupListing(ctx, ref, opts, warn, listed)
}

func lookupListing(ctx context.Context, ref Ref, opts runtimes.Options, warn func(error), w want) (*Target, []*Target, []error, error) {
	var all []*Target
	t, err := lookup(ctx, ref, opts, warn, w, &all)
	if err != nil || (ref.Runtime == "" && len(all) > 0) {
		return t, all, nil, err
	}
	// A pinned ref listed one runtime or none; an empty listing may be
	// no runtime answering, which List says.
	all, errs := List(ctx, opts)
	return t, all, errs, nil
}

// Find finds the one container ref names, running or not, as its runtime
// lists it (no PID, environment or working directory).
func Find(ctx context.Context, ref Ref, opts runtimes.Options, warn func(error)) (*Target, error) {
	return lookup(ctx, ref, opts, warn, listed, nil)
}

// What lookup returns: the target as listed, described whatever its state,
// or described and running.
type want int

const (
	listed want = iota
	runningOrNot
	running
)

// lookup finds and describes the target; with all, it lists every
// container, and fills all with them.
func lookup(ctx context.Context, ref Ref, opts runtimes.Options, warn func(error), w want, all *[]*Target) (*Target, error) {
	backends, skipped := openBackends(ref, opts)
	defer closeAll(backends)
	listCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
	t, err := find(listCtx, backends, skipped, ref, warn, all)
	cancel()
	if err != nil || w == listed {
		return t, err
	}
	// A deadline of its own: a runtime that hung through the listing
	// used up the first, and the target's runtime answered.
	ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	for _, b := range backends {
		if b.Runtime() == t.Runtime {
			if err := b.Describe(ctx, t.Container); err != nil {
				return nil, err
			}
		}
	}
	if !t.Running && w == runningOrNot && t.Runtime != PID {
		return t, nil
	}
	if !t.Running {
		// Kept on one line: what it is, and what to do.
		return nil, fmt.Errorf("%w: %s is %s (start it, then retry; `ctr-enter ls` shows every container's state)", ErrNotRunning, t, text.Clean(t.Status))
	}
	// Right after the runtime named the PID: Open refuses a process that
	// started at another time, one that took the PID since.
	if t.startTime, err = readStartTime(t); err != nil {
		return nil, err
	}
	t.started = true
	return t, nil
}

func find(ctx context.Context, backends []runtimes.Backend, skipped []error, ref Ref, warn func(error), listing *[]*Target) (*Target, error) {
	var exact string
	if listing == nil && (!maybePrefix(ref.Name) || runtimes.GeneratedID(ref.Name)) {
		exact = ref.Name
	}
	all, answered, failed := listAll(ctx, backends, exact)
	if listing != nil {
		*listing = slices.Clone(all)
	}
	skipped = sortCauses(append(skipped, failed...))
	if ref.Runtime == "" || ref.Runtime == PID {
		if p := pidCandidate(ref.Name); p != nil {
			all = append(all, p)
		}
	}

	podNames(all)
	matches := match(all, ref.Name)
	switch {
	case len(matches) == 0 && ref.Runtime != "" && ref.Runtime != PID && len(answered) == 0 && len(skipped) == 1:
		// The one runtime ref pins could not be asked: that is the
		// whole story.
		return nil, skipped[0]
	case len(matches) == 0:
		return nil, &NotFoundError{Ref: ref, Suggestions: suggest(all, ref.Name), Skipped: skipped, Searched: answered}
	case len(matches) > 1:
		return nil, &AmbiguousError{Ref: ref, Candidates: matches}
	}
	if warn != nil {
		for _, err := range skipped {
			if !errors.Is(err, runtimes.ErrNoDaemon) {
				warn(err)
			}
		}
	}
	if ref.Sandbox {
		return sandboxOf(all, matches[0])
	}
	return matches[0], nil
}

// List returns every container the reachable runtimes know, running or
// not, with the runtimes that failed to answer. A runtime that is not
// installed here is not a failure, unless no runtime answered at all:
// then the one error is ErrNoRuntime, naming each runtime's cause.
func List(ctx context.Context, opts runtimes.Options) ([]*Target, []error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	backends, skipped := openBackends(Ref{}, opts)
	defer closeAll(backends)
	ts, answered, failed := listAll(ctx, backends, "")
	skipped = sortCauses(append(skipped, failed...))
	if len(answered) == 0 {
		return nil, []error{fmt.Errorf("%w (%s)", ErrNoRuntime, causes(skipped))}
	}
	var errs []error
	for _, err := range skipped {
		if !errors.Is(err, runtimes.ErrNoDaemon) {
			errs = append(errs, err)
		}
	}
	return ts, errs
}

// openBackends returns the runtimes ref may be found in, and those that
// cannot be asked (a DOCKER_HOST of a form ctr-enter cannot use).
func openBackends(ref Ref, opts runtimes.Options) (backends []runtimes.Backend, skipped []error) {
	for _, name := range runtimes.Names {
		if ref.Runtime != "" && ref.Runtime != name {
			continue
		}
		b, err := runtimes.Open(opts, name, ref.Namespace)
		if err != nil {
			skipped = append(skipped, err)
			continue
		}
		backends = append(backends, b)
	}
	return backends, skipped
}

func closeAll(backends []runtimes.Backend) {
	for _, b := range backends {
		b.Close()
	}
}

// listAll asks every runtime at once, and returns what those that
// answered listed, their names, and why each other did not. With exact
// set, a runtime that can find a word by itself (runtimes.ExactFinder)
// returns only the containers named exactly that, if there are any: for a
// word that can match nothing else (see maybePrefix), that is all match
// needs, in one call instead of a listing. Only when no runtime found
// the word are they all listed: a target found nowhere is reported with
// the names it is close to, while one that a runtime found needs no
// listing of the others, which could hold nothing else it names.
func listAll(ctx context.Context, backends []runtimes.Backend, exact string) (_ []*Target, answered []string, failed []error) {
	results, errs := ask(backends, func(b runtimes.Backend) ([]*runtimes.Container, error) {
		if f, ok := b.(runtimes.ExactFinder); ok && exact != "" {
			return f.FindExact(ctx, exact)
		}
		return b.List(ctx)
	})
	if exact != "" && !slices.ContainsFunc(results, func(cs []*runtimes.Container) bool { return len(cs) > 0 }) {
		// Found nowhere: the listings, of the runtimes that found
		// nothing by themselves, for the error's suggestions.
		var finders []runtimes.Backend
		var at []int
		for i, b := range backends {
			if _, ok := b.(runtimes.ExactFinder); ok && errs[i] == nil {
				finders, at = append(finders, b), append(at, i)
			}
		}
		listed, lerrs := ask(finders, func(b runtimes.Backend) ([]*runtimes.Container, error) { return b.List(ctx) })
		for j, i := range at {
			results[i], errs[i] = listed[j], lerrs[j]
		}
	}
	var all []*runtimes.Container
	for i, err := range errs {
		if err != nil {
			failed = append(failed, err)
			continue
		}
		answered = append(answered, backends[i].Runtime())
		all = append(all, results[i]...)
	}
	return targetsOf(runtimes.Dedupe(all)), answered, failed
}

// ask calls call on every backend at once, and returns what each
// returned, in the order of backends.
func ask(backends []runtimes.Backend, call func(runtimes.Backend) ([]*runtimes.Container, error)) ([][]*runtimes.Container, []error) {
	results := make([][]*runtimes.Container, len(backends))
	errs := make([]error, len(backends))
	var wg sync.WaitGroup
	for i, b := range backends {
		wg.Go(func() { results[i], errs[i] = call(b) })
	}
	wg.Wait()
	return results, errs
}

// maybePrefix says whether match could take word for more than exact
// names and IDs: a prefix of a generated ID (lowercase hex) or a PID
// (digits, hex too). A whole generated ID is neither: it is the prefix of
// itself alone, and no PID has 64 digits.
func maybePrefix(word string) bool {
	return strings.Trim(word, "0123456789abcdef") == ""
}

func targetsOf(cs []*runtimes.Container) []*Target {
	ts := make([]*Target, len(cs))
	for i, c := range cs {
		ts[i] = &Target{Container: c}
	}
	return ts
}

// match finds the targets word may mean:
//
//   - exactly: a container whose ID or one of whose names is word, or the
//     live process whose PID it is;
//   - by prefix: a container whose ID starts with word, but only an ID
//     that a runtime generated (64 hex digits, as Docker, nerdctl and
//     Kubernetes' CRI make them). Docker and nerdctl take any prefix of
//     an ID because their IDs are all generated; a containerd ID made with
//     ctr is a word someone chose ("ux-ctr-side"), a name in all but
//     name, and a prefix of a name is never taken: "ux" must not enter
//     "ux-ctr-side" because nothing else begins so.
//
// Exact matches and prefixes are collected alike, so that one container
// cannot take a word away from another: a name is chosen by whoever
// creates the container (and on containerd may come from an image's
// labels), and a PID is chosen by the kernel, so a word that is one
// target's name or PID and another's ID prefix is ambiguous, never
// silently one of them: a unique exact match wins only when no generated
// ID begins with the word.
func match(ts []*Target, word string) []*Target {
	var exact, byPrefix []*Target
	for _, t := range ts {
		switch {
		case t.ID == word || slices.Contains(t.Names, word):
			exact = append(exact, t)
		case t.Runtime != PID && runtimes.GeneratedID(t.ID) && strings.HasPrefix(t.ID, word):
			byPrefix = append(byPrefix, t)
		}
	}
	switch {
	case len(exact) > 0 && len(byPrefix) > 0:
		return inOrder(ts, exact, byPrefix)
	case len(exact) > 0:
		return exact
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

// causes joins what runtimes that could not be asked said, on one line,
// each once and without the class (see runtimes.Cause).
func causes(errs []error) string {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = runtimes.Cause(e)
	}
	return strings.Join(slices.Compact(msgs), "; ")
}

// sortCauses orders errs by their message, for output that does not depend
// on which runtime answered first.
func sortCauses(errs []error) []error {
	slices.SortStableFunc(errs, func(a, b error) int { return strings.Compare(runtimes.Cause(a), runtimes.Cause(b)) })
	return errs
}

// Error classes. Callers test with errors.Is; messages carry the details.
var (
	ErrInvalidRef = errors.New("invalid target")
	ErrNotFound   = errors.New("no such container or process")
	ErrAmbiguous  = errors.New("ambiguous target")
	ErrNotRunning = errors.New("container is not running")
	ErrVanished   = runtimes.ErrVanished
	// No runtime could be asked: a list of containers would be empty for
	// want of an answer, not for want of containers.
	ErrNoRuntime = errors.New("no container runtime answered")
)

// NotFoundError is a reference that nothing matched, with what might
// help: the names it is close to, and the runtimes that were not
// searched (the target may be in one of them).
type NotFoundError struct {
	Ref         Ref
	Suggestions []string // explicit forms or names, closest first
	Skipped     []error  // runtimes that could not be asked, and why
	Searched    []string // runtimes that answered
}

func (e *NotFoundError) Error() string {
	var notes []string
	if len(e.Suggestions) > 0 {
		notes = append(notes, "did you mean "+orList(e.Suggestions)+"?")
	}
	if len(e.Skipped) > 0 {
		notes = append(notes, causes(e.Skipped))
		if len(e.Searched) > 0 {
			notes = append(notes, "searched "+strings.Join(e.Searched, " and ")+" only")
		} else {
			notes = append(notes, "no runtime was searched")
		}
	}
	msg := fmt.Sprintf("%s: %s", ErrNotFound, e.Ref)
	if len(notes) > 0 {
		msg += " (" + strings.Join(notes, "; ") + ")"
	}
	return msg
}

func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// orList is "a", "a or b", "a, b or c".
func orList(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// AmbiguousError lists every target a reference could mean.
type AmbiguousError struct {
	Ref        Ref
	Candidates []*Target
}

func (e *AmbiguousError) Error() string {
	// Pod containers by their pod names, as kubectl users know them,
	// unless two candidates would read alike.
	names := make([]string, len(e.Candidates))
	seen := map[string]int{}
	for _, c := range e.Candidates {
		seen[c.podName()]++
	}
	for i, c := range e.Candidates {
		names[i] = c.String()
		if n := c.podName(); n != "" && seen[n] == 1 {
			names[i] = n
		}
	}
	sort.Strings(names)
	return fmt.Sprintf("%s: %s matches %d targets: %s", ErrAmbiguous, e.Ref, len(names), strings.Join(names, ", "))
}

func (e *AmbiguousError) Unwrap() error { return ErrAmbiguous }
