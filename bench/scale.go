package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/typeurl/v2"

	"github.com/ctr-enter/ctr-enter/runtimes"
)

// The bench's extra containers: containerd namespaces of its own, and a
// Docker label of its own. Whatever carries them is the bench's, and is
// removed at the start of a run (left by an interrupted one) and at its
// end.
const (
	scaleNSPrefix = "ctr-enter-bench-"
	scaleNSCount  = 4
	scaleLabel    = "ctr-enter-bench-scale"
	scaleBase     = 10 // the extra containers of the baseline
	scaleWorkers  = 8  // calls in flight while making or removing them
)

// The daemons the extra containers are made on: both containerds of
// e2e/env.sh and Docker.
var scaleContainerds = []string{runtimes.DefaultContainerdAddress, "/run/ctr-enter-e2e/containerd2.sock"}

// extra is one extra container: a Docker one, or one that each containerd
// gets, in namespace ns.
type extra struct {
	docker bool
	ns     string
	name   string
}

// scalePlan is the extra containers of a run with n: one in four in
// Docker, the others spread over the bench's containerd namespaces. The
// plan of a smaller n is the start of a larger one's, so that shrinking
// n to the baseline removes only the rest.
func scalePlan(n int) []extra {
	out := make([]extra, n)
	for i := range out {
		out[i].name = fmt.Sprintf("%sscale-%04d", scaleNSPrefix, i)
		if i%4 == 0 {
			out[i].docker = true
		} else {
			out[i].ns = fmt.Sprintf("%s%d", scaleNSPrefix, (i/4)%scaleNSCount)
		}
	}
	return out
}

// scaleEnv is the clients the extra containers are made and removed with.
type scaleEnv struct {
	ctrds  []*client.Client
	docker *runtimes.Engine
	// An interrupt stops the calls not yet made, and waits for those in
	// flight, before removing everything: a container made after the
	// removal listed the bench's would be left behind.
	stop     atomic.Bool
	inflight sync.WaitGroup
}

func newScaleEnv() *scaleEnv {
	e := &scaleEnv{}
	for _, addr := range scaleContainerds {
		c, err := runtimes.NewContainerdClient(runtimes.Options{ContainerdAddress: addr})
		if err != nil {
			fail("scale: containerd at %s: %v", addr, err)
		}
		e.ctrds = append(e.ctrds, c)
	}
	var err error
	if e.docker, err = runtimes.NewEngine(runtimes.DefaultDockerHost); err != nil {
		fail("scale: docker: %v", err)
	}
	return e
}

func (e *scaleEnv) close() {
	for _, c := range e.ctrds {
		c.Close()
	}
	e.docker.Close()
}

// benchScale times entry by name, and ls, with scaleBase extra containers
// present and with n, in three phases of runs each: scaleBase, n, and
// scaleBase again (removing the rest), the baseline being the runs of
// both the first and the last, so that a machine that got slower or
// faster meanwhile does not show as growth.
func benchScale(bin string, n, runs int) {
	ctx := context.Background()
	e := newScaleEnv()
	defer e.close()
	if left := e.removeAll(ctx); left > 0 {
		fmt.Printf("(removed %d extra containers left by an interrupted run)\n", left)
	}
	onFail(func() {
		e.stop.Store(true)
		e.inflight.Wait()
		e.removeAll(context.Background())
	})
	defer e.removeAll(ctx)

	c2 := scaleContainerds[1]
	entries := []contender{
		{"ctr-enter docker://taka --net --pid -- true", []string{bin, "docker://taka", "--net", "--pid", "--", "true"}},
		{"ctr-enter containerd://taka (every namespace)", []string{bin, "containerd://taka", "--net", "--pid", "--", "true"}},
		{"ctr-enter containerd://e2e/taka", []string{bin, "containerd://e2e/taka", "--net", "--pid", "--", "true"}},
		{"  containerd://taka on containerd 2.x", []string{bin, "--containerd-address", c2, "containerd://taka", "--net", "--pid", "--", "true"}},
		{"ctr-enter taka-sidecar (a bare name: every runtime)", []string{bin, "taka-sidecar", "--net", "--pid", "--", "true"}},
	}
	lists := []contender{
		{"ctr-enter ls", []string{bin, "ls"}},
		{"ctr-enter ls --all", []string{bin, "ls", "--all"}},
	}
	cs := append(slices.Clone(entries), lists...)

	plan := scalePlan(max(n, scaleBase))
	e.create(ctx, plan[:scaleBase])
	before := measureAll(cs, runs)
	start := time.Now()
	e.create(ctx, plan[scaleBase:])
	made := time.Since(start)
	grown := measureAll(cs, runs)
	start = time.Now()
	e.remove(ctx, plan[scaleBase:])
	removed := time.Since(start)
	after := measureAll(cs, runs)

	var docker, ctrd int
	for _, x := range plan[scaleBase:] {
		if x.docker {
			docker++
		} else {
			ctrd++
		}
	}
	t := newTable("With %d and with %d extra containers present (each containerd %d in %d namespaces, Docker %d, none running): median of %d runs each, interleaved; %d: runs before and after",
		scaleBase, n, n*3/4, scaleNSCount, n/4, runs, scaleBase)
	t.row("", fmt.Sprintf("%d extra", scaleBase), fmt.Sprintf("%d extra", n), "")
	worst, worstName := 0.0, ""
	var lsWorst time.Duration
	for i, c := range cs {
		base, big := medianD(append(slices.Clone(before[i]), after[i]...)), medianD(grown[i])
		r := float64(big) / float64(base)
		t.row(c.name, fmtMs(base), fmtMs(big), ratio(float64(big), float64(base)))
		if i < len(entries) && r > worst {
			worst, worstName = r, strings.TrimSpace(c.name)
		}
		if i >= len(entries) {
			lsWorst = max(lsWorst, big)
		}
	}
	t.row(fmt.Sprintf("making %d (%d Docker, %d in each containerd), %d calls at once", n-scaleBase, docker, ctrd, scaleWorkers), fmt.Sprintf("%.1f s", made.Seconds()), "", "")
	t.row("removing them", fmt.Sprintf("%.1f s", removed.Seconds()), "", "")
	t.goal(fmt.Sprintf("by name <= 1.3x its time with %d", scaleBase), fmt.Sprintf("at worst %s (%s)", ratio(worst, 1), worstName), worst <= 1.3)
	t.goal(fmt.Sprintf("ls <= 1 s with %d", n), fmt.Sprintf("%.0f ms at worst", ms(lsWorst)), lsWorst <= time.Second)
	t.print()
}

// create makes the extra containers xs, scaleWorkers calls at once:
// containerd's without a task or a snapshot (metadata alone: what a
// listing reads) but with the spec of that containerd's taka (e2e/taka),
// whose size is a real container's, since every listing carries every
// spec; Docker's created and not started.
func (e *scaleEnv) create(ctx context.Context, xs []extra) {
	specs := make([]typeurl.Any, len(e.ctrds))
	for i, c := range e.ctrds {
		taka, err := c.ContainerService().Get(namespaces.WithNamespace(ctx, "e2e"), "taka")
		if err != nil {
			fail("scale: e2e/taka on %s: %v", scaleContainerds[i], err)
		}
		specs[i] = taka.Spec
	}
	var jobs []func() error
	for _, x := range xs {
		if x.docker {
			jobs = append(jobs, func() error {
				body := map[string]any{"Image": "ctr-enter-test/busybox:latest", "Cmd": []string{"true"},
					"Labels": map[string]string{scaleLabel: "1"}, "HostConfig": map[string]any{"NetworkMode": "none"}}
				return e.docker.Do(ctx, http.MethodPost, "/containers/create?name="+url.QueryEscape(x.name), body, nil)
			})
			continue
		}
		for i, c := range e.ctrds {
			spec := specs[i]
			jobs = append(jobs, func() error {
				_, err := c.ContainerService().Create(namespaces.WithNamespace(ctx, x.ns), containers.Container{
					ID: x.name, Image: "docker.io/ctr-enter-test/busybox:latest", Labels: map[string]string{scaleLabel: "1"},
					Runtime: containers.RuntimeInfo{Name: "io.containerd.runc.v2"}, Spec: spec,
				})
				return err
			})
		}
	}
	if err := e.parallel(jobs); err != nil {
		fail("scale: make the extra containers: %v", err)
	}
}

// remove removes the extra containers xs.
func (e *scaleEnv) remove(ctx context.Context, xs []extra) {
	var jobs []func() error
	for _, x := range xs {
		if x.docker {
			jobs = append(jobs, func() error { return e.removeDocker(ctx, x.name) })
			continue
		}
		for _, c := range e.ctrds {
			jobs = append(jobs, func() error {
				return c.ContainerService().Delete(namespaces.WithNamespace(ctx, x.ns), x.name)
			})
		}
	}
	if err := e.parallel(jobs); err != nil {
		fail("scale: remove extra containers: %v", err)
	}
}

func (e *scaleEnv) removeDocker(ctx context.Context, id string) error {
	return e.docker.Do(ctx, http.MethodDelete, "/containers/"+url.PathEscape(id)+"?force=1&v=1", nil, nil)
}

// removeAll removes every container of the bench's namespaces and the
// namespaces, and every Docker container with its label, and says how
// many containers it removed. Errors are reported, not fatal: it runs on
// the way out, and at the start, where what it leaves shows in the
// numbers.
func (e *scaleEnv) removeAll(ctx context.Context) int {
	var mu sync.Mutex
	n := 0
	var jobs []func() error
	for _, c := range e.ctrds {
		nss, err := c.NamespaceService().List(ctx)
		if err != nil {
			warnf("scale: list containerd namespaces: %v", err)
			continue
		}
		for _, ns := range nss {
			if !strings.HasPrefix(ns, scaleNSPrefix) {
				continue
			}
			nsctx := namespaces.WithNamespace(ctx, ns)
			cs, err := c.ContainerService().List(nsctx)
			if err != nil {
				warnf("scale: list namespace %s: %v", ns, err)
				continue
			}
			for _, ctr := range cs {
				jobs = append(jobs, func() error {
					mu.Lock()
					n++
					mu.Unlock()
					return c.ContainerService().Delete(nsctx, ctr.ID)
				})
			}
		}
	}
	var ds []struct {
		ID string `json:"Id"`
	}
	filter := url.QueryEscape(`{"label":["` + scaleLabel + `"]}`)
	if err := e.docker.Do(ctx, http.MethodGet, "/containers/json?all=1&filters="+filter, nil, &ds); err != nil {
		warnf("scale: list Docker's containers: %v", err)
	}
	for _, d := range ds {
		jobs = append(jobs, func() error {
			mu.Lock()
			n++
			mu.Unlock()
			return e.removeDocker(ctx, d.ID)
		})
	}
	if err := e.run(jobs, false); err != nil {
		warnf("scale: remove extra containers: %v", err)
	}
	// The namespaces last, empty now.
	for _, c := range e.ctrds {
		nss, _ := c.NamespaceService().List(ctx)
		for _, ns := range nss {
			if strings.HasPrefix(ns, scaleNSPrefix) {
				if err := c.NamespaceService().Delete(ctx, ns); err != nil {
					warnf("scale: remove namespace %s: %v", ns, err)
				}
			}
		}
	}
	return n
}

// parallel runs jobs, scaleWorkers at once, and returns the first
// error; once e.stop is set, no more.
func (e *scaleEnv) parallel(jobs []func() error) error {
	if e.stop.Load() {
		return nil
	}
	return e.run(jobs, true)
}

// run runs jobs, scaleWorkers at once, and returns the first error;
// stoppable ones, only until e.stop is set.
func (e *scaleEnv) run(jobs []func() error, stoppable bool) error {
	ch := make(chan func() error)
	errs := make(chan error, len(jobs))
	var wg sync.WaitGroup
	for range scaleWorkers {
		e.inflight.Add(1)
		wg.Go(func() {
			defer e.inflight.Done()
			for j := range ch {
				if stoppable && e.stop.Load() {
					continue
				}
				if err := j(); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	close(errs)
	return <-errs
}
