// Package runtimes talks to the container runtimes of this host: Docker's
// Engine API and containerd. It knows sockets and runtimes, not targets:
// one Backend per runtime lists and describes its containers, changes their
// limits, and creates and removes the containers ctr-enter attaches to
// them, each container keyed by (namespace, ID). Adding a runtime is one
// file with one Backend; nothing outside this package asks which runtime
// a container belongs to.
package runtimes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/ctr-enter/ctr-enter/internal/nskind"
	"github.com/ctr-enter/ctr-enter/internal/text"
)

// Runtime names, as they appear in explicit references and in output.
const (
	Containerd = "containerd"
	Docker     = "docker"
)

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

// Container is one container as its runtime describes it. Text fields come
// from the runtime and, through it, from whoever created the container:
// print them cleaned (internal/text).
type Container struct {
	Runtime   string   // Containerd or Docker
	Namespace string   // containerd namespace ("moby" for Docker's own containers)
	ID        string   // full ID
	Name      string   // the name users know it by (Docker name, CRI name, or ID)
	Names     []string // everything it can be called by, besides its ID
	Image     string
	Labels    map[string]string
	Status    string // as the runtime says: running, paused, stopped, created, exited...
	Running   bool
	PID       int // host PID of the container's init process, when running
	// Pod is the Kubernetes pod the container belongs to (nil for
	// none), and PodRole what it is there.
	Pod     *Pod
	PodRole PodRole

	// Filled in by Describe. From the runtime's config, for the processes
	// started inside: nil Env means the runtime does not say, and
	// /proc/PID/environ is used instead.
	Env []string
	Cwd string
	// ConfiguredCgroups are the cgroups the runtime may have put a running
	// container in, derived from its configuration (see cgroup.go).
	ConfiguredCgroups []string
}

// Ref is the explicit form that pins the container, cleaned of control
// characters.
func (c *Container) Ref() string {
	if c.Runtime == Docker {
		return text.Clean("docker://" + c.Name)
	}
	return text.Clean(c.Runtime + "://" + c.Namespace + "/" + c.ID)
}

// Dedupe drops containerd's view of Docker's containers (namespace moby,
// the full Docker ID as containerd ID) when Docker itself listed them: a
// container seen through both APIs is one container, named the Docker way. The
// PID, which Docker's listing lacks, is taken from containerd's.
func Dedupe(cs []*Container) []*Container {
	docker := map[string]*Container{}
	for _, t := range cs {
		if t.Runtime == Docker {
			docker[t.ID] = t
		}
	}
	out := cs[:0]
	for _, t := range cs {
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

// Backend is one runtime's view of its containers. Every call is bounded
// by the context.
type Backend interface {
	// Runtime is the runtime's name (Containerd, Docker).
	Runtime() string
	// List returns every container the runtime knows, running or not. An
	// error that is ErrNoDaemon means the runtime is not installed here.
	List(ctx context.Context) ([]*Container, error)
	// Describe fills in the rest (state, PID, env, cwd, cgroups) of one
	// listed container; ErrVanished if it is gone.
	Describe(ctx context.Context, c *Container) error
	// Update changes a running container's limits.
	Update(ctx context.Context, c *Container, r Resources) error
	// CreateSidecar creates and starts a container sharing target's
	// namespaces, detached: it outlives ctr-enter.
	CreateSidecar(ctx context.Context, target *Container, s Sidecar) (*Container, error)
	// RunEphemeral runs a container sharing target's namespaces with the
	// session attached, removes it when it exits, and returns its exit
	// status.
	RunEphemeral(ctx context.Context, target *Container, s Sidecar, io Session) (int, error)
	// Unfinished returns the containers ctr-enter began to create and
	// that are not yet whole (their labels say who creates them:
	// LabelCreatedBy), or not yet removed whole.
	Unfinished(ctx context.Context) ([]*Container, error)
	// Remove stops and deletes a container ctr-enter created, and what the
	// runtime kept for it (task, shim, snapshot, log), or what is left of
	// them; of an unfinished one, only what its creator made.
	Remove(ctx context.Context, c *Container) error
	Close() error
}

// ExactFinder is a Backend that can find the containers a word names
// exactly (as a name, or as a full ID) without listing every container:
// one call on the hot path, whatever their number.
type ExactFinder interface {
	// FindExact returns the containers word names exactly, as List
	// lists them, with, for a Kubernetes pod's container, the rest of
	// its pod (what resolve needs to tell which of a pod's containers
	// and attempts a name means); none, and no error, if none is named
	// word.
	FindExact(ctx context.Context, word string) ([]*Container, error)
}

// Open returns the backend of the named runtime. For containerd, namespace
// limits it to one namespace ("" for every one, or opts'
// ContainerdNamespace when set).
func Open(opts Options, runtime, namespace string) (Backend, error) {
	switch runtime {
	case Containerd:
		if namespace == "" {
			namespace = opts.ContainerdNamespace
		}
		return newContainerd(opts.ContainerdAddress, namespace), nil
	case Docker:
		return newDocker(opts.DockerHost)
	}
	return nil, fmt.Errorf("%w: %q is neither %s nor %s (a bare process has none)", ErrUnknownRuntime, text.Clean(runtime), Containerd, Docker)
}

// Update changes a running container's limits through its own runtime
// (containerd's task update, Docker's container update) rather than by
// writing its cgroup files, so that what the runtime reports stays true.
func Update(ctx context.Context, opts Options, c *Container, r Resources) error {
	b, err := Open(opts, c.Runtime, c.Namespace)
	if err != nil {
		return err
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	return b.Update(ctx, c, r)
}

// Names are the runtimes Open knows, in the order they are asked.
var Names = []string{Containerd, Docker}

// Resources are the limits Update can change; nil fields stay as they are.
// Enforced (resources.go) checks them against what the kernel enforces.
type Resources struct {
	Memory    *int64  // bytes; -1 for no limit
	NanoCPUs  *int64  // CPU time per second, in billionths of a CPU (docker's --cpus)
	CPUShares *uint64 // relative weight, 2 to 262144
	Pids      *int64  // -1 for no limit
}

// Sidecar is a container to create beside a target, sharing its
// namespaces.
type Sidecar struct {
	Name   string
	Image  string
	Args   []string // the command; none: the image's
	Share  nskind.Set
	Labels map[string]string
	// Privileged is docker run --privileged; on containerd, every
	// capability ctr-enter holds, every host device, no seccomp filter,
	// no LSM profile.
	Privileged bool
	// As docker run's -e, -u, -w, --cap-add and --cap-drop; empty: the
	// image's (capabilities: the runtime's defaults).
	Env             []string
	User, Workdir   string
	CapAdd, CapDrop []string
	// Confinement, when set, is copied from the target instead of the
	// runtime's defaults for a new container.
	Confinement *Confinement
}

// Confinement is what a sidecar copies from its target's process, as the
// kernel reports it (the runtime's config may say less, or lie). The
// target's seccomp profile comes from its runtime's config: the kernel
// shows only that there is one.
type Confinement struct {
	UID, GID                       int
	Groups                         []int
	Bounding, Effective, Permitted uint64
	NoNewPrivs                     bool
	// AppArmor is the target's AppArmor profile: "" where no LSM labels
	// processes (as on machines without AppArmor), or the target runs
	// unconfined. SELinux labels are not copied.
	AppArmor string
}

// Session is the operator's side of an ephemeral container.
type Session struct {
	Stdin, Stdout, Stderr *os.File
	Interactive, TTY      bool
}

// Error classes. Callers test with errors.Is; messages carry the details.
var (
	ErrNotFound    = errors.New("no such container")
	ErrUnavailable = errors.New("runtime unavailable")
	// ErrNoDaemon is a runtime that is not installed or not started here
	// (no socket): for a search across runtimes, not a failure.
	ErrNoDaemon = errors.New("runtime not running here")
	ErrVanished = errors.New("target process is gone")
	// The runtime's configuration does not say where the container's
	// processes are, so a recycled PID could not be told from them.
	ErrUnverifiable   = errors.New("cannot verify the target's process")
	ErrUnknownRuntime = errors.New("no runtime to ask")
)

// UnavailableError is a runtime that could not be asked, and why. Its
// Cause names the runtime and what went wrong without the class, so that
// a line listing several runtimes says "runtime unavailable" once.
type UnavailableError struct {
	Runtime string
	Reason  string // for a person: "/var/run/docker.sock does not exist"
	Err     error  // what the client said, if anything
	// noDaemon: nothing listens where the runtime should be (no socket),
	// as on a host where it is not installed.
	noDaemon bool
}

func (e *UnavailableError) Error() string { return ErrUnavailable.Error() + ": " + e.Cause() }

// Cause is the message without its class: "docker: /x.sock does not exist".
func (e *UnavailableError) Cause() string { return e.Runtime + ": " + e.Reason }

func (e *UnavailableError) Unwrap() []error {
	errs := []error{ErrUnavailable}
	if e.noDaemon {
		errs = append(errs, ErrNoDaemon)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Cause is what err says without the class "runtime unavailable", when it
// is an *UnavailableError; otherwise its whole message.
func Cause(err error) string {
	if e, ok := errors.AsType[*UnavailableError](err); ok {
		return e.Cause()
	}
	return err.Error()
}

// checkSocket tells a runtime that is not installed (no socket) from one
// that is, before any dialing: a missing socket otherwise costs the
// whole timeout in some clients.
func checkSocket(runtime, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return &UnavailableError{Runtime: runtime, Reason: text.Clean(path) + " does not exist", Err: err, noDaemon: true}
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return &UnavailableError{Runtime: runtime, Reason: text.Clean(path) + " is not a socket"}
	}
	return nil
}

// unavailable turns a failed call into a line that says which daemon did not
// answer and why.
func unavailable(ctx context.Context, runtime, socket string, err error) error {
	socket = text.Clean(socket)
	e := &UnavailableError{Runtime: runtime, Err: err}
	switch {
	case ctx.Err() != nil:
		e.Reason = "no answer on " + socket + " within --timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		// A socket file left by a daemon that is gone.
		e.Reason = socket + " refuses connections (is " + runtime + " running?)"
	default:
		e.Reason = socket + ": " + text.Clean(err.Error())
	}
	return e
}
