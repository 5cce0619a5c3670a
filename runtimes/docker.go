package runtimes

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/nskind"
	"github.com/ctr-enter/ctr-enter/internal/procfs"
	"github.com/ctr-enter/ctr-enter/internal/term"
	"github.com/ctr-enter/ctr-enter/internal/text"
)

// docker is the Docker backend, on the Engine API.
type docker struct {
	*Engine
	// inspected is what FindExact's inspect answered, by ID: Describe
	// takes it instead of asking again. It is as fresh as a Describe
	// made in its place (the backend lives for one resolution, which
	// describes right after finding), and saves a round trip on the hot
	// path.
	inspected map[string]*dockerInspect
}

func newDocker(host string) (*docker, error) {
	e, err := NewEngine(host)
	if err != nil {
		return nil, err
	}
	return &docker{Engine: e}, nil
}

// dockerInspect is what ctr-enter reads of GET /containers/ID/json.
type dockerInspect struct {
	ID     string `json:"Id"`
	Name   string
	Config struct {
		Image      string
		Labels     map[string]string
		Env        []string
		WorkingDir string
	}
	State struct {
		Status  string
		Running bool
		Pid     int
	}
	HostConfig struct {
		CgroupParent string
	}
}

// FindExact asks Docker for word as a container's name or full ID, in
// one inspect, instead of listing every container. Docker would also take
// word as a unique prefix of an ID: such an answer is not an exact match,
// and is dropped (its prefixes are the caller's to match, from List).
func (d *docker) FindExact(ctx context.Context, word string) ([]*Container, error) {
	var info dockerInspect
	err := d.Do(ctx, http.MethodGet, "/containers/"+url.PathEscape(word)+"/json", nil, &info)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c := dockerContainer(info.ID, []string{info.Name}, info.Config.Image, info.State.Status, info.Config.Labels)
	if c.ID != word && !slices.Contains(c.Names, word) {
		return nil, nil
	}
	if d.inspected == nil {
		d.inspected = map[string]*dockerInspect{}
	}
	d.inspected[c.ID] = &info
	return []*Container{c}, nil
}

// dockerContainer is a container as List lists it, from what the Engine
// API says of it; names are the API's ("/name", "/other/alias").
func dockerContainer(id string, names []string, image, state string, labels map[string]string) *Container {
	ctr := &Container{Runtime: Docker, Namespace: "moby", ID: id, Image: image, Labels: labels, Status: state, Running: state == "running"}
	for _, n := range names {
		// The API names containers "/name"; links add "/other/alias".
		if n = strings.TrimPrefix(n, "/"); !strings.Contains(n, "/") {
			ctr.Names = append(ctr.Names, n)
		}
	}
	ctr.Name = id
	if len(ctr.Names) > 0 {
		ctr.Name = ctr.Names[0]
	}
	return ctr
}

func (d *docker) Runtime() string { return Docker }

func (d *docker) List(ctx context.Context) ([]*Container, error) {
	var cs []struct {
		ID     string `json:"Id"`
		Names  []string
		Image  string
		State  string
		Labels map[string]string
	}
	if err := d.Do(ctx, http.MethodGet, "/containers/json?all=1", nil, &cs); err != nil {
		return nil, err
	}
	out := make([]*Container, 0, len(cs))
	for _, c := range cs {
		out = append(out, dockerContainer(c.ID, c.Names, c.Image, c.State, c.Labels))
	}
	return out, nil
}

func (d *docker) Describe(ctx context.Context, c *Container) error {
	info := d.inspected[c.ID]
	delete(d.inspected, c.ID) // once: a later Describe asks again
	if info == nil {
		info = new(dockerInspect)
		err := d.Do(ctx, http.MethodGet, "/containers/"+url.PathEscape(c.ID)+"/json", nil, info)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: %s was removed", ErrVanished, c.Ref())
		}
		if err != nil {
			return err
		}
	}
	var err error
	c.Running = info.State.Running && info.State.Pid > 0
	c.PID = info.State.Pid
	c.Env = info.Config.Env
	c.Cwd = info.Config.WorkingDir
	if c.Env == nil {
		c.Env = []string{}
	}
	if c.Running {
		if c.ConfiguredCgroups, err = dockerCgroups(c.ID, info.HostConfig.CgroupParent); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrUnverifiable, c.Ref(), err)
		}
	}
	return nil
}

// Update changes the limits through Docker's container update rather than
// by writing the cgroup files, so that what Docker reports stays true.
func (d *docker) Update(ctx context.Context, c *Container, r Resources) error {
	body := map[string]int64{}
	if r.Memory != nil {
		// The Engine API has no way back to "no limit": Memory 0 is
		// "unchanged" and -1 is refused below 6MB (moby#22516). The
		// largest limit is the kernel's "none" (it reads back as the
		// cgroup's own maximum), and is what docker inspect then shows.
		// The swap limit goes with it, as with a fresh --memory, so that
		// the kernel does not refuse a limit above the old memory+swap
		// one (Docker 20.10 does not pass MemorySwap -1 on to runc).
		m := *r.Memory
		if m < 0 {
			m = math.MaxInt64
		}
		body["Memory"], body["MemorySwap"] = m, memorySwap(m)
	}
	if r.NanoCPUs != nil {
		// Docker refuses NanoCpus on a container made with a CPU
		// quota, and a quota on one made with --cpus: whichever it was
		// made with is changed.
		var inspect struct {
			HostConfig struct{ NanoCpus, CpuQuota, CpuPeriod int64 }
		}
		if err := d.Do(ctx, http.MethodGet, "/containers/"+url.PathEscape(c.ID)+"/json", nil, &inspect); err != nil {
			return fmt.Errorf("inspect %s: %w", c.Ref(), err)
		}
		if h := inspect.HostConfig; h.CpuQuota > 0 || h.CpuPeriod > 0 {
			body["CpuPeriod"], body["CpuQuota"] = CPUPeriod, cpuQuota(*r.NanoCPUs)
		} else {
			body["NanoCpus"] = *r.NanoCPUs
		}
	}
	if r.CPUShares != nil {
		body["CpuShares"] = int64(*r.CPUShares)
	}
	if r.Pids != nil {
		body["PidsLimit"] = *r.Pids
	}
	if err := d.Do(ctx, http.MethodPost, "/containers/"+url.PathEscape(c.ID)+"/update", body, nil); err != nil {
		return fmt.Errorf("update %s: %w", c.Ref(), err)
	}
	return nil
}

func (d *docker) CreateSidecar(ctx context.Context, t *Container, s Sidecar) (*Container, error) {
	spec, _, err := d.spec(ctx, t, s)
	if err != nil {
		return nil, err
	}
	var created struct{ ID string }
	if err := d.Do(ctx, http.MethodPost, "/containers/create?name="+url.QueryEscape(s.Name), spec, &created); err != nil {
		return nil, fmt.Errorf("create sidecar %s: %w", text.Clean(s.Name), err)
	}
	if err := d.Do(ctx, http.MethodPost, "/containers/"+created.ID+"/start", nil, nil); err != nil {
		d.remove(ctx, created.ID)
		return nil, fmt.Errorf("start sidecar %s: %w", text.Clean(s.Name), err)
	}
	return &Container{Runtime: Docker, Namespace: "moby", ID: created.ID, Name: s.Name, Names: []string{s.Name}, Image: s.Image, Labels: s.Labels, Status: "running", Running: true}, nil
}

func (d *docker) RunEphemeral(ctx context.Context, t *Container, s Sidecar, sess Session) (int, error) {
	spec, host, err := d.spec(ctx, t, s)
	if err != nil {
		return 0, err
	}
	// Docker removes it itself once it exits; and once the attach
	// connection goes, so does its stdin (StdinOnce), and a shell with it.
	host["AutoRemove"] = true
	spec["Tty"], spec["OpenStdin"], spec["StdinOnce"] = sess.TTY, sess.Interactive, sess.Interactive
	spec["AttachStdin"], spec["AttachStdout"], spec["AttachStderr"] = sess.Interactive, true, true
	if ws := term.Size(sess.Stdin, sess.Stdout); sess.TTY && ws != nil {
		// Made this size (as docker run -t asks; Docker 23 and later
		// honour it): the command starts with the operator's, rather
		// than with a resize while it starts up.
		host["ConsoleSize"] = []uint16{ws.Row, ws.Col}
	}
	var created struct{ ID string }
	if err := d.Do(ctx, http.MethodPost, "/containers/create?name="+url.QueryEscape(s.Name), spec, &created); err != nil {
		return 0, fmt.Errorf("create %s: %w", text.Clean(s.Name), err)
	}
	id := created.ID
	conn, stream, err := d.Hijack(ctx, "/containers/"+id+"/attach?stream=1&stdin=1&stdout=1&stderr=1")
	if err != nil {
		d.remove(context.WithoutCancel(ctx), id)
		return 0, err
	}
	defer conn.Close()
	if err := d.Do(ctx, http.MethodPost, "/containers/"+id+"/start", nil, nil); err != nil {
		d.remove(context.WithoutCancel(ctx), id)
		return 0, fmt.Errorf("start %s: %w", text.Clean(s.Name), err)
	}
	if sess.TTY {
		stop := term.FollowSize(func(ws *unix.Winsize) {
			d.Do(ctx, http.MethodPost, fmt.Sprintf("/containers/%s/resize?h=%d&w=%d", id, ws.Row, ws.Col), nil, nil)
		}, sess.Stdin)
		defer stop()
	}
	if sess.Interactive {
		go func() {
			io.Copy(conn, sess.Stdin)
			if cw, ok := conn.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
		}()
	}
	// A session ended early (a hang-up) closes the attach connection,
	// and the container goes with it.
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	if sess.TTY {
		io.Copy(sess.Stdout, stream)
	} else {
		demux(stream, sess.Stdout, sess.Stderr)
	}
	if ctx.Err() != nil {
		d.remove(context.WithoutCancel(ctx), id)
		return 0, ctx.Err()
	}
	var waited struct{ StatusCode int }
	// AutoRemove may already have taken it: then it exited too.
	if err := d.Do(context.WithoutCancel(ctx), http.MethodPost, "/containers/"+id+"/wait?condition=removed", nil, &waited); err != nil && !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	return waited.StatusCode, nil
}

// Unfinished is none on Docker: a container is created whole, labels
// and all, by one request.
func (d *docker) Unfinished(context.Context) ([]*Container, error) { return nil, nil }

func (d *docker) Remove(ctx context.Context, c *Container) error {
	return d.remove(ctx, c.ID)
}

func (d *docker) remove(ctx context.Context, id string) error {
	err := d.Do(ctx, http.MethodDelete, "/containers/"+url.PathEscape(id)+"?force=1", nil, nil)
	if errors.Is(err, errConflict) {
		// Docker is removing it already (its own --rm, or another
		// ctr-enter's removal): done once that ends.
		err = d.Do(ctx, http.MethodPost, "/containers/"+url.PathEscape(id)+"/wait?condition=removed", nil, nil)
	}
	if errors.Is(err, ErrNotFound) {
		// Removed before our request, or while we waited (its own
		// --rm, whose process ended when ctr-enter did): gone is
		// removed.
		return nil
	}
	return err
}

// spec is the create body of a container attached to t, and its HostConfig
// within.
func (d *docker) spec(ctx context.Context, t *Container, s Sidecar) (spec, host map[string]any, err error) {
	if host, err = shareModes(t, s.Share); err != nil {
		return nil, nil, err
	}
	if err := d.checkImage(ctx, s.Image); err != nil {
		return nil, nil, err
	}
	spec = map[string]any{"Image": s.Image, "Labels": s.Labels, "HostConfig": host}
	if len(s.Args) > 0 {
		spec["Cmd"] = s.Args
	}
	// As docker run's -e, -u, -w, --cap-add, --cap-drop: Docker merges
	// the environment with the image's, and takes CAP_ names and ALL.
	if len(s.Env) > 0 {
		spec["Env"] = s.Env
	}
	if s.User != "" {
		spec["User"] = s.User
	}
	if s.Workdir != "" {
		spec["WorkingDir"] = s.Workdir
	}
	if len(s.CapAdd) > 0 {
		host["CapAdd"] = s.CapAdd
	}
	if len(s.CapDrop) > 0 {
		host["CapDrop"] = s.CapDrop
	}
	switch {
	case s.Privileged:
		host["Privileged"] = true
	case s.Confinement != nil:
		if err := d.confine(ctx, t, s.Confinement, spec, host); err != nil {
			return nil, nil, err
		}
	}
	return spec, host, nil
}

// checkImage tells a missing image from the rest before the create call,
// whose 404 says no more than "not found" (the target, or the image?).
func (d *docker) checkImage(ctx context.Context, image string) error {
	// The Engine API routes /images/NAME/json with the slashes of NAME
	// as they are.
	err := d.Do(ctx, http.MethodGet, "/images/"+(&url.URL{Path: image}).EscapedPath()+"/json", nil, nil)
	if errors.Is(err, ErrNotFound) {
		return &noImageError{image: image, where: "Docker", pull: "docker pull " + image}
	}
	return err
}

// ErrNoImage is an image that the runtime does not have.
var ErrNoImage = errors.New("image not found")

// noImageError says which image is missing, where it was looked for, and
// how to get it there.
type noImageError struct{ image, where, pull string }

func (e *noImageError) Error() string {
	// ctr-enter's own cache (images pull) is for enter --image: the
	// runtime that creates the sidecar cannot use it.
	return fmt.Sprintf("image %s not found in %s: %s (ctr-enter images pull fills only ctr-enter's own cache, for enter --image)",
		text.Clean(e.image), e.where, text.Clean(e.pull))
}

func (e *noImageError) Unwrap() error { return ErrNoImage }

// shareModes shares the kinds of namespaces asked for through Docker's
// container: modes.
func shareModes(t *Container, share nskind.Set) (map[string]any, error) {
	host := map[string]any{}
	for _, k := range share.Kinds() {
		switch k.Set {
		case nskind.Net:
			host["NetworkMode"] = "container:" + t.ID
		case nskind.PID:
			host["PidMode"] = "container:" + t.ID
		case nskind.IPC:
			host["IpcMode"] = "container:" + t.ID
		default:
			return nil, fmt.Errorf("docker cannot share a %s namespace with another container", k.Name)
		}
	}
	return host, nil
}

// confine gives the create body the target's confinement: c, and the
// seccomp profile of the target's security options.
func (d *docker) confine(ctx context.Context, t *Container, c *Confinement, spec, host map[string]any) error {
	var inspect struct {
		HostConfig struct {
			Privileged  bool
			SecurityOpt []string
		}
	}
	if err := d.Do(ctx, http.MethodGet, "/containers/"+url.PathEscape(t.ID)+"/json", nil, &inspect); err != nil {
		return fmt.Errorf("inspect %s: %w", t.Ref(), err)
	}
	// Docker gives root bounding = effective = permitted = this set,
	// and a non-root user the same bounding set and nothing effective:
	// with the target's user, that is the target's.
	host["CapDrop"] = []string{"ALL"}
	host["CapAdd"] = procfs.CapNames(c.Bounding)
	spec["User"] = strconv.Itoa(c.UID) + ":" + strconv.Itoa(c.GID)
	groups := make([]string, 0, len(c.Groups))
	for _, g := range c.Groups {
		groups = append(groups, strconv.Itoa(g))
	}
	host["GroupAdd"] = groups
	var opts []string
	for _, s := range inspect.HostConfig.SecurityOpt {
		// "seccomp=unconfined" or the profile itself, as the CLI sends it.
		if strings.HasPrefix(s, "seccomp=") || strings.HasPrefix(s, "seccomp:") {
			opts = append(opts, s)
		}
	}
	if inspect.HostConfig.Privileged && len(opts) == 0 {
		// A privileged target runs without a filter, whatever it says.
		opts = append(opts, "seccomp=unconfined")
	}
	if c.AppArmor != "" {
		opts = append(opts, "apparmor="+c.AppArmor)
	} else if inspect.HostConfig.Privileged {
		opts = append(opts, "apparmor=unconfined")
	}
	if c.NoNewPrivs {
		opts = append(opts, "no-new-privileges")
	}
	host["SecurityOpt"] = opts
	return nil
}

// demux splits Docker's multiplexed attach stream: frames of an 8-byte
// header (stream: 1 stdout, 2 stderr; 3 bytes of 0; big-endian size), then
// the payload.
func demux(r *bufio.Reader, stdout, stderr io.Writer) {
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		w := stdout
		if hdr[0] == 2 {
			w = stderr
		}
		if _, err := io.CopyN(w, r, int64(binary.BigEndian.Uint32(hdr[4:]))); err != nil {
			return
		}
	}
}
