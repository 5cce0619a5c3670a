package attach

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
	"github.com/ctr-enter/ctr-enter/internal/term"
	"github.com/ctr-enter/ctr-enter/resolve"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

// LabelOwner marks an ephemeral container with the ctr-enter process that
// owns it ("PID:STARTTIME"): once that process is gone, the container is
// garbage, whatever killed its owner.
const LabelOwner = runtimes.LabelOwner

// RunEphemeral runs a debug container sharing t's namespaces with the
// operator attached, removes it when it exits, and returns its exit status.
// If ctr-enter dies meanwhile, Collect removes it later.
func RunEphemeral(ctx context.Context, t *resolve.Target, ropts runtimes.Options, o Options, s runtimes.Session) (int, error) {
	owner, err := selfOwner()
	if err != nil {
		return 0, err
	}
	spec, err := sidecarSpec(t, o, map[string]string{LabelOwner: owner, runtimes.LabelCreatedBy: owner})
	if err != nil {
		return 0, err
	}
	b, err := runtimes.Open(ropts, t.Runtime, t.Namespace)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	if s.TTY {
		// Restored on every return, the signals' included (they end
		// the session through ctx), before the caller prints an error.
		restore, err := sessionTerminal(s)
		if err != nil {
			return 0, err
		}
		defer restore()
	}
	// A hang-up (the operator's terminal gone), SIGTERM or SIGINT ends
	// the session as its exit would: the container goes with it, now,
	// rather than at the next gc.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGHUP, unix.SIGTERM, unix.SIGINT)
	defer signal.Stop(sigs)
	var got atomic.Value
	go func() {
		select {
		case sig := <-sigs:
			got.Store(sig)
			cancel()
		case <-ctx.Done():
		}
	}()
	status, err := b.RunEphemeral(ctx, t.Container, spec, s)
	if sig, ok := got.Load().(unix.Signal); ok && (err == nil || errors.Is(err, context.Canceled)) {
		// As a shell reports a command a signal ended.
		return 128 + int(sig), nil
	}
	return status, err
}

// sessionTerminal sets the operator's terminal for a session that has a
// terminal of its own, and returns what restores it. The container's
// terminal does the output processing ("\n" to "\r\n"): the operator's
// must not do it again, or every line ends "\r\r\n". With -i the
// operator's keys go to the container as they are (raw); with -t alone
// only the output is raw, and Ctrl-C stays ctr-enter's SIGINT, which
// ends the session.
func sessionTerminal(s runtimes.Session) (func(), error) {
	switch {
	case s.Interactive && term.IsTerminal(s.Stdin):
		return term.MakeRaw(s.Stdin)
	case term.IsTerminal(s.Stdout):
		return term.MakeRawOutput(s.Stdout)
	}
	return func() {}, nil
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
// before it could remove them), and what is left of the containers that
// a ctr-enter now gone began to create or to remove, with what their
// runtime kept for them, and returns what it removed. A container whose
// owner runs is its owner's to remove: Collect leaves it alone. With
// wait false, Collect does nothing while another one runs (that one
// does the work); otherwise it waits for it.
func Collect(ctx context.Context, ropts runtimes.Options, wait bool) ([]string, []error) {
	unlock, err := lockCollect(ctx, wait)
	if err != nil {
		return nil, []error{err}
	}
	if unlock == nil {
		return nil, nil
	}
	defer unlock()
	ts, errs := resolve.List(ctx, ropts)
	var removed []string
	done := map[string]bool{}
	for _, t := range ts {
		owner := t.Labels[LabelOwner]
		// Ephemeral containers whose ctr-enter is gone, and sidecars
		// whose pod is: the kubelet neither knows nor removes them.
		orphan := owner == "" && t.Pod != nil && t.Labels[LabelSidecarOf] != "" && targetGone(ts, t)
		if (owner == "" || !ownerGone(owner)) && !orphan {
			continue
		}
		done[t.Ref()] = true
		if err := Remove(ctx, ropts, t); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", t, err))
			continue
		}
		removed = append(removed, t.String())
	}
	if wait {
		// ctr-enter gc only, not every attach: one inspect per stopped
		// container. The writable layers that a killed --write session
		// held (runtimes.Hold): their containers cannot start until
		// they are given back.
		for _, t := range ts {
			if t.Running {
				continue
			}
			st, err := runtimes.OpenStopped(ctx, ropts, t.Container)
			if err != nil {
				continue // no layers to hold: nothing held
			}
			r, err := runtimes.ReleaseOrphans(st.RootFS.Upper)
			for range r {
				removed = append(removed, "writable layer of "+t.String()+" given back (a --write session was killed)")
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("give back the writable layer of %s: %w", t, err))
			}
		}
	}
	for _, name := range runtimes.Names {
		b, err := runtimes.Open(ropts, name, "")
		if err != nil {
			continue
		}
		r, uerrs := collectUnfinished(ctx, ropts, b, done)
		removed, errs = append(removed, r...), append(errs, uerrs...)
		b.Close()
	}
	return removed, errs
}

// collectUnfinished removes the unfinished containers of backend b whose
// creator is gone.
func collectUnfinished(ctx context.Context, ropts runtimes.Options, b runtimes.Backend, done map[string]bool) (removed []string, errs []error) {
	lctx, cancel := context.WithTimeout(ctx, ropts.Timeout)
	us, err := b.Unfinished(lctx)
	cancel()
	if err != nil {
		if !errors.Is(err, runtimes.ErrNoDaemon) {
			errs = append(errs, err)
		}
		return nil, errs
	}
	for _, u := range us {
		creator := u.Labels[runtimes.LabelCreatedBy]
		if creator == "" || !ownerGone(creator) || done[u.Ref()] {
			continue
		}
		done[u.Ref()] = true
		rctx, cancel := context.WithTimeout(ctx, max(ropts.Timeout, runtimes.RemoveTimeout))
		err := b.Remove(rctx, u)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", u.Ref(), err))
			continue
		}
		removed = append(removed, u.Ref())
	}
	return removed, errs
}

// collectLock serializes collectors (gc, and every attach), so that two
// never remove the pieces of one container at once.
const collectLock = "/run/ctr-enter/gc.lock"

// lockCollect takes the collectors' lock, and returns what releases it;
// nil if wait is false and another collector holds it.
func lockCollect(ctx context.Context, wait bool) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(collectLock), 0o700); err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	f, err := os.OpenFile(collectLock, os.O_CREATE|os.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("gc: open lock: %w", err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("gc: lock %s: %w", collectLock, os.NewSyscallError("flock", err))
		}
		if !wait {
			f.Close()
			return nil, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("gc: another gc holds %s: %w", collectLock, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
