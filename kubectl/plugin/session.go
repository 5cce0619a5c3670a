package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
)

// CtrEnterPath is ctr-enter in its image (the Dockerfile's ENTRYPOINT).
const CtrEnterPath = "/usr/local/bin/ctr-enter"

// Session is one run of the plugin against the cluster.
type Session struct {
	Config    *rest.Config
	API       API
	Namespace string // the target's (from -n or the context)
	Owner     Owner
	Stdin     *os.File
	Stdout    io.Writer
	Stderr    io.Writer
	// Warn tells of a problem that does not stop the session.
	Warn func(string)
}

// Enter runs ctr-enter on the target's node against it, and returns the
// command's exit status.
func (s *Session) Enter(ctx context.Context, a *Args) (int, error) {
	t, err := s.resolve(ctx, a)
	if err != nil {
		return ExitTool, err
	}
	ns, name := s.daemonSetPod(ctx, a.Flags.DaemonSetNamespace, t.Node)
	inDaemonSet := name != ""
	if !inDaemonSet {
		// Before a debugger pod is made, which would never start on a
		// node that is not Ready.
		if err := s.checkNode(ctx, t.Node, a.Kind == "node"); err != nil {
			return ExitTool, err
		}
		pod, err := s.createDebugger(ctx, a, t)
		if err != nil {
			return ExitTool, err
		}
		ns, name = pod.Namespace, pod.Name
		// Deleted whatever ends the session: the command's end, a
		// signal (ctx is cancelled), a lost connection, a panic.
		defer s.deleteDebugger(ns, name)
		stop := s.keepAlive(ctx, ns, name, a.Flags.TTL)
		defer stop()
		if err := s.waitRunning(ctx, pod, a.Flags.Image, a.Flags.RunningTimeout); err != nil {
			return ExitTool, err
		}
	}
	cmd := append([]string{CtrEnterPath, t.Ref}, a.CtrArgs()...)
	code, err := s.exec(ctx, ns, name, cmd, a)
	if err != nil && inDaemonSet {
		// The DaemonSet's pod is used as listed, without a round trip
		// to ask after its node first (kubectl exec does not either):
		// a node that is not Ready is then the better story.
		err = s.notReadyOr(ctx, t.Node, err)
	}
	return code, err
}

func (s *Session) resolve(ctx context.Context, a *Args) (Target, error) {
	if a.Kind == "node" {
		return NodeTarget(a.Name), nil
	}
	pod, err := s.API.Pods(s.Namespace).Get(ctx, a.Name, metav1.GetOptions{})
	if err != nil {
		return Target{}, apiError("get", "pods", s.Namespace, a.Name, err)
	}
	return PodTarget(pod, a.Flags.Container)
}

// checkNode refuses a node that is not Ready: a debugger pod would never
// start there, and an exec would not reach its kubelet. A user who may
// not read nodes (the minimal role does not need it) skips the check,
// unless the node itself is the target.
func (s *Session) checkNode(ctx context.Context, name string, isTarget bool) error {
	node, err := s.API.Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsForbidden(err) && !isTarget {
			return nil
		}
		return apiError("get", "nodes", "", name, err)
	}
	if why := NodeNotReady(node); why != "" {
		return errors.New(why)
	}
	return nil
}

// notReadyOr is why node is not Ready, if it is not, else err.
func (s *Session) notReadyOr(ctx context.Context, name string, err error) error {
	node, nerr := s.API.Nodes().Get(ctx, name, metav1.GetOptions{})
	if nerr != nil {
		return err
	}
	if why := NodeNotReady(node); why != "" {
		return errors.New(why)
	}
	return err
}

// daemonSetPod is the running pod of ctr-enter's DaemonSet on node, if
// the cluster has one that this user may list ("" otherwise).
func (s *Session) daemonSetPod(ctx context.Context, ns, node string) (string, string) {
	if ns == "" {
		return "", ""
	}
	list, err := s.API.Pods(ns).List(ctx, metav1.ListOptions{
		LabelSelector: DaemonSetLabel,
		FieldSelector: "spec.nodeName=" + node + ",status.phase=Running",
	})
	if err != nil {
		return "", "" // not deployed, or not for us: a pod of our own will do
	}
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		if ok, _ := DebuggerReady(&p, ""); ok {
			return p.Namespace, p.Name
		}
	}
	return "", ""
}

func (s *Session) createDebugger(ctx context.Context, a *Args, t Target) (*corev1.Pod, error) {
	ns := a.Flags.DebuggerNamespace
	if ns == "" {
		ns = s.Namespace
	}
	spec := DebuggerPod(DebuggerOptions{
		Namespace:      ns,
		Node:           t.Node,
		Image:          a.Flags.Image,
		PullPolicy:     a.Flags.PullPolicy,
		CRISocket:      a.Flags.CRISocket,
		ContainerdRoot: a.Flags.ContainerdRoot,
		KubeletRoot:    a.Flags.KubeletRoot,
		Owner:          s.Owner,
		Expires:        time.Now().Add(a.Flags.TTL),
		Target:         t.Desc,
	})
	pod, err := s.API.Pods(ns).Create(ctx, spec, metav1.CreateOptions{})
	if err != nil {
		return nil, apiError("create", "pods", ns, "", err)
	}
	return pod, nil
}

// deleteDebugger deletes the debugger pod with a context of its own: the
// session's may be cancelled already (a signal is why we are here).
func (s *Session) deleteDebugger(ns, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// A second Ctrl-C or SIGTERM meanwhile does not kill us: main's
	// signal handler stays registered until we return.
	if err := deletePod(ctx, s.API, ns, name); err != nil {
		s.Warn(fmt.Sprintf("debugger pod %s/%s left behind (kubectl ctr-enter gc removes it): %s", ns, name, err))
	}
}

// keepAlive moves the debugger pod's expiry forward while the session
// lasts, so that gc run by anyone leaves a long session alone.
func (s *Session) keepAlive(ctx context.Context, ns, name string, ttl time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		tick := time.NewTicker(ttl / 2)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, ExpiresAnnotation, time.Now().Add(ttl).UTC().Format(time.RFC3339))
				if _, err := s.API.Pods(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil && ctx.Err() == nil {
					s.Warn(fmt.Sprintf("debugger pod %s/%s: moving its expiry: %s", ns, name, apiError("patch", "pods", ns, name, err)))
				}
			}
		}
	}()
	return cancel
}

// waitRunning waits, by watching it, until the debugger pod's container
// runs, or says why it will not.
func (s *Session) waitRunning(ctx context.Context, pod *corev1.Pod, image string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w, err := s.API.Pods(pod.Namespace).Watch(ctx, metav1.ListOptions{
		FieldSelector:   "metadata.name=" + pod.Name,
		ResourceVersion: pod.ResourceVersion,
	})
	if err != nil {
		return apiError("watch", "pods", pod.Namespace, pod.Name, err)
	}
	defer w.Stop()
	last := pod
	for {
		if done, err := DebuggerReady(last, image); done || err != nil {
			return err
		}
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				if ctx.Err() == nil {
					return fmt.Errorf("watching debugger pod %s/%s: the API server closed the watch", pod.Namespace, pod.Name)
				}
				continue // the select's other case says why
			}
			switch ev.Type {
			case watch.Deleted:
				return fmt.Errorf("debugger pod %s/%s was deleted before it ran", pod.Namespace, pod.Name)
			case watch.Error:
				return fmt.Errorf("watching debugger pod %s/%s: %w", pod.Namespace, pod.Name, apierrors.FromObject(ev.Object))
			}
			if p, ok := ev.Object.(*corev1.Pod); ok {
				last = p
			}
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("debugger pod %s/%s did not start on node %s within %s (--pod-running-timeout): %s", pod.Namespace, pod.Name, pod.Spec.NodeName, timeout, Waiting(last))
			}
			return ctx.Err()
		}
	}
}

// exec runs cmd in the pod's ctr-enter container as kubectl exec does
// (WebSocket, falling back to SPDY), carrying stdin, a terminal with its
// size, and the exit status.
func (s *Session) exec(ctx context.Context, ns, pod string, cmd []string, a *Args) (int, error) {
	inTerm := term.IsTerminal(int(s.Stdin.Fd()))
	noCmd := len(a.Command) == 0
	// ctr-enter's own default: -i and -t when there is no command and
	// we are on a terminal; it sees the terminal we ask for.
	tty := a.TTY || (noCmd && inTerm)
	stdin := a.Interactive || (noCmd && inTerm)
	u := s.API.ExecURL(ns, pod, &corev1.PodExecOptions{
		Container: DebuggerContainer,
		Command:   cmd,
		Stdin:     stdin,
		Stdout:    true,
		Stderr:    !tty, // a terminal has one stream
		TTY:       tty,
	})
	spdy, err := remotecommand.NewSPDYExecutor(s.Config, "POST", u)
	if err != nil {
		return ExitTool, err
	}
	ws, err := remotecommand.NewWebSocketExecutor(s.Config, "GET", u.String())
	if err != nil {
		return ExitTool, err
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return ExitTool, err
	}
	opts := remotecommand.StreamOptions{Stdout: s.Stdout, Tty: tty}
	if !tty {
		opts.Stderr = s.Stderr
	}
	if stdin {
		opts.Stdin = s.Stdin
	}
	if tty && stdin && inTerm {
		fd := int(s.Stdin.Fd())
		old, err := term.MakeRaw(fd)
		if err != nil {
			return ExitTool, fmt.Errorf("terminal: %w", err)
		}
		// Restored on every return, the signal's included (ctx).
		defer term.Restore(fd, old)
		sizes := newSizeQueue(ctx, fd)
		defer sizes.stop()
		opts.TerminalSizeQueue = sizes
	}
	err = ex.StreamWithContext(ctx, opts)
	var status utilexec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &status):
		return status.ExitStatus(), nil
	case ctx.Err() != nil:
		return ExitTool, fmt.Errorf("interrupted: %w", context.Cause(ctx))
	}
	return ExitTool, apiError("create", "pods/exec", ns, pod, err)
}

// sizeQueue hands remotecommand the terminal's size: once at the start,
// then at each SIGWINCH.
type sizeQueue struct {
	ch     chan remotecommand.TerminalSize
	winch  chan os.Signal
	cancel context.CancelFunc
}

func newSizeQueue(ctx context.Context, fd int) *sizeQueue {
	ctx, cancel := context.WithCancel(ctx)
	q := &sizeQueue{ch: make(chan remotecommand.TerminalSize, 1), winch: make(chan os.Signal, 1), cancel: cancel}
	signal.Notify(q.winch, syscall.SIGWINCH)
	send := func() {
		w, h, err := term.GetSize(fd)
		if err != nil {
			return
		}
		// Only the latest size matters: one not taken yet is replaced.
		select {
		case <-q.ch:
		default:
		}
		q.ch <- remotecommand.TerminalSize{Width: uint16(w), Height: uint16(h)}
	}
	send()
	go func() {
		defer close(q.ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-q.winch:
				send()
			}
		}
	}()
	return q
}

func (q *sizeQueue) Next() *remotecommand.TerminalSize {
	s, ok := <-q.ch
	if !ok {
		return nil
	}
	return &s
}

func (q *sizeQueue) stop() {
	signal.Stop(q.winch)
	q.cancel()
}
