package attach

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
	"github.com/ctr-enter/ctr-enter/internal/term"
	"github.com/ctr-enter/ctr-enter/internal/text"
	"github.com/ctr-enter/ctr-enter/resolve"
)

// LabelOwner marks an ephemeral container with the ctr-enter process that
// owns it ("PID:STARTTIME"): once that process is gone, the container is
// garbage, whatever killed its owner.
const LabelOwner = "ctr-enter.ephemeral-owner"

// Session is the operator's side of an ephemeral container.
type Session struct {
	Stdin, Stdout, Stderr *os.File
	Interactive, TTY      bool
}

// RunEphemeral runs a debug container sharing t's namespaces with the
// operator attached, removes it when it exits, and returns its exit status.
// If ctr-enter dies meanwhile, Collect removes it later.
func RunEphemeral(ctx context.Context, t *resolve.Target, topts resolve.Options, o Options, s Session) (int, error) {
	if err := checkSecurity(o); err != nil {
		return 0, err
	}
	owner, err := selfOwner()
	if err != nil {
		return 0, err
	}
	labels := map[string]string{LabelSidecarOf: t.String(), LabelOwner: owner}
	if s.TTY && term.IsTerminal(s.Stdin) && s.Interactive {
		restore, err := term.MakeRaw(s.Stdin)
		if err != nil {
			return 0, err
		}
		defer restore()
	}
	switch t.Runtime {
	case resolve.Docker:
		return ephemeralDocker(ctx, t, topts, o, s, labels)
	case resolve.Containerd:
		return ephemeralContainerd(ctx, t, topts, o, s, labels)
	}
	return 0, fmt.Errorf("%s has no runtime to create a container through", t)
}

func ephemeralContainerd(ctx context.Context, t *resolve.Target, topts resolve.Options, o Options, s Session, labels map[string]string) (int, error) {
	c, err := resolve.NewContainerdClient(topts)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	ctx = namespaces.WithNamespace(ctx, t.Namespace)
	var extra []oci.SpecOpts
	if s.TTY {
		extra = append(extra, oci.WithTTY)
	}
	ctr, err := newContainerdContainer(ctx, c, t, o, labels, extra...)
	if err != nil {
		return 0, err
	}
	// Whatever happens below, the container goes.
	defer ctr.Delete(context.WithoutCancel(ctx), client.WithSnapshotCleanup)

	var stdin io.Reader = bytes.NewReader(nil)
	if s.Interactive {
		stdin = s.Stdin
	}
	streams := []cio.Opt{cio.WithStreams(stdin, s.Stdout, s.Stderr)}
	if s.TTY {
		streams = append(streams, cio.WithTerminal)
	}
	task, err := ctr.NewTask(ctx, cio.NewCreator(streams...))
	if err != nil {
		return 0, fmt.Errorf("create %s's task: %w", text.Clean(o.Name), err)
	}
	defer task.Delete(context.WithoutCancel(ctx), client.WithProcessKill)
	// Wait before Start, so that the exit is never missed.
	exited, err := task.Wait(ctx)
	if err != nil {
		return 0, err
	}
	if err := task.Start(ctx); err != nil {
		return 0, fmt.Errorf("start %s: %w", text.Clean(o.Name), err)
	}
	if s.TTY {
		stop := term.FollowSize(func(ws *unix.Winsize) { task.Resize(ctx, uint32(ws.Col), uint32(ws.Row)) }, s.Stdin)
		defer stop()
	}
	status := <-exited
	code, _, err := status.Result()
	return int(code), err
}

func ephemeralDocker(ctx context.Context, t *resolve.Target, topts resolve.Options, o Options, s Session, labels map[string]string) (int, error) {
	d, err := resolve.NewDockerClient(topts)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	spec, host, err := dockerSpec(ctx, d, t, o, labels)
	if err != nil {
		return 0, err
	}
	// Docker removes it itself once it exits; and once the attach
	// connection goes, so does its stdin (StdinOnce), and a shell with it.
	host["AutoRemove"] = true
	spec["Tty"], spec["OpenStdin"], spec["StdinOnce"] = s.TTY, s.Interactive, s.Interactive
	spec["AttachStdin"], spec["AttachStdout"], spec["AttachStderr"] = s.Interactive, true, true
	var created struct{ ID string }
	if err := d.Do(ctx, http.MethodPost, "/containers/create?name="+url.QueryEscape(o.Name), spec, &created); err != nil {
		return 0, fmt.Errorf("create %s: %w", text.Clean(o.Name), err)
	}
	id := created.ID
	conn, stream, err := d.Hijack(ctx, "/containers/"+id+"/attach?stream=1&stdin=1&stdout=1&stderr=1")
	if err != nil {
		d.Do(context.WithoutCancel(ctx), http.MethodDelete, "/containers/"+id+"?force=1", nil, nil)
		return 0, err
	}
	defer conn.Close()
	if err := d.Do(ctx, http.MethodPost, "/containers/"+id+"/start", nil, nil); err != nil {
		d.Do(context.WithoutCancel(ctx), http.MethodDelete, "/containers/"+id+"?force=1", nil, nil)
		return 0, fmt.Errorf("start %s: %w", text.Clean(o.Name), err)
	}
	if s.TTY {
		stop := term.FollowSize(func(ws *unix.Winsize) {
			d.Do(ctx, http.MethodPost, fmt.Sprintf("/containers/%s/resize?h=%d&w=%d", id, ws.Row, ws.Col), nil, nil)
		}, s.Stdin)
		defer stop()
	}
	if s.Interactive {
		go func() {
			io.Copy(conn, s.Stdin)
			if cw, ok := conn.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
		}()
	}
	if s.TTY {
		io.Copy(s.Stdout, stream)
	} else {
		demux(stream, s.Stdout, s.Stderr)
	}
	var waited struct{ StatusCode int }
	// AutoRemove may already have taken it: then it exited too.
	if err := d.Do(context.WithoutCancel(ctx), http.MethodPost, "/containers/"+id+"/wait?condition=removed", nil, &waited); err != nil && err != resolve.ErrNotFound {
		return 0, err
	}
	return waited.StatusCode, nil
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

// selfOwner is this process's owner label: its PID and start time, so that
// a recycled PID does not pass for the owner.
func selfOwner() (string, error) {
	start, err := startTime(os.Getpid())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d:%d", os.Getpid(), start), nil
}

func startTime(pid int) (uint64, error) {
	st, err := procfs.ReadStat(pid)
	if err != nil {
		return 0, err
	}
	return st.StartTime, nil
}

// ownerGone reports whether an owner label names a process that no longer
// runs.
func ownerGone(label string) bool {
	pidStr, start, ok := strings.Cut(label, ":")
	pid, err := strconv.Atoi(pidStr)
	if !ok || err != nil {
		return true
	}
	now, err := startTime(pid)
	return err != nil || strconv.FormatUint(now, 10) != start
}

// Collect removes the ephemeral containers whose ctr-enter is gone (killed
// before it could remove them), with what their runtime kept for them, and
// returns what it removed.
func Collect(ctx context.Context, topts resolve.Options) ([]string, []error) {
	ts, errs := resolve.List(ctx, topts)
	var removed []string
	for _, t := range ts {
		owner := t.Labels[LabelOwner]
		if owner == "" || !ownerGone(owner) {
			continue
		}
		if err := Remove(ctx, topts, t); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", t, err))
			continue
		}
		removed = append(removed, t.String())
	}
	return removed, errs
}
