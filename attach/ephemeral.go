package attach

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
	"github.com/ctr-enter/ctr-enter/internal/term"
	"github.com/ctr-enter/ctr-enter/resolve"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

// LabelOwner marks an ephemeral container with the ctr-enter process that
// owns it ("PID:STARTTIME"): once that process is gone, the container is
// garbage, whatever killed its owner.
const LabelOwner = "ctr-enter.ephemeral-owner"

// RunEphemeral runs a debug container sharing t's namespaces with the
// operator attached, removes it when it exits, and returns its exit status.
// If ctr-enter dies meanwhile, Collect removes it later.
func RunEphemeral(ctx context.Context, t *resolve.Target, ropts runtimes.Options, o Options, s runtimes.Session) (int, error) {
	owner, err := selfOwner()
	if err != nil {
		return 0, err
	}
	spec, err := sidecarSpec(t, o, map[string]string{LabelSidecarOf: t.String(), LabelOwner: owner})
	if err != nil {
		return 0, err
	}
	b, err := runtimes.Open(ropts, t.Runtime, t.Namespace)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	if s.TTY && term.IsTerminal(s.Stdin) && s.Interactive {
		restore, err := term.MakeRaw(s.Stdin)
		if err != nil {
			return 0, err
		}
		defer restore()
	}
	return b.RunEphemeral(ctx, t.Container, spec, s)
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
func Collect(ctx context.Context, ropts runtimes.Options) ([]string, []error) {
	ts, errs := resolve.List(ctx, ropts)
	var removed []string
	for _, t := range ts {
		owner := t.Labels[LabelOwner]
		if owner == "" || !ownerGone(owner) {
			continue
		}
		if err := Remove(ctx, ropts, t); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", t, err))
			continue
		}
		removed = append(removed, t.String())
	}
	return removed, errs
}
