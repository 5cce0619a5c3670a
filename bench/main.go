// Command bench measures ctr-enter side by side with the tools it replaces,
// in one run, on the same target, and prints medians and ratios. It needs
// the test environment (e2e/env.sh up) and root; run it with `make bench`.
//
// Speed is measured here, never asserted in tests: the goals are printed
// beside the numbers.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

type contender struct {
	name string
	argv []string
}

func main() {
	runs := flag.Int("n", 50, "runs of each command")
	bin := flag.String("bin", "bin/ctr-enter", "ctr-enter binary")
	ptyMiB := flag.Int("pty-mib", 200, "MiB through the terminal in the pty benchmark (0: skip it)")
	transferMiB := flag.Int("transfer-mib", 512, "MiB through port-forward and cp in the transfer benchmark (0: skip it)")
	plugin := flag.String("plugin", "bin/kubectl-ctr_enter", "the kubectl plugin (its cluster benchmark runs when e2e/env.sh's cluster is up)")
	state := flag.String("state", "/var/tmp/ctr-enter-e2e", "e2e/env.sh's state directory (CTR_ENTER_E2E_STATE)")
	scale := flag.Int("scale", 1000, "extra containers in the scale benchmark (0: skip it)")
	only := flag.String("only", "", "run only these benchmarks, comma-separated (enter, rss, tools, ephemeral, stopped, scale, pty, transfer, kube)")
	flag.Parse()

	pid, err := exec.Command("docker", "inspect", "-f", "{{.State.Pid}}", "taka").Output()
	if err != nil {
		fail("no Docker container taka (e2e/env.sh up): %v", err)
	}
	p := strings.TrimSpace(string(pid))
	cleanUpOnInterrupt()
	sections := []section{
		{"enter", true, func() { benchEnter(*bin, p, *runs) }},
		{"rss", true, func() { benchRSS(*bin, p, *runs/5+1) }},
		{"tools", true, func() { benchTools(*bin, *runs/5+1) }},
		{"ephemeral", true, func() { benchEphemeral(*bin, *runs/5+1) }},
		{"stopped", true, func() { benchStopped(*bin, *runs/5+1) }},
		{"scale", *scale > 0, func() { benchScale(*bin, *scale, *runs/5+1) }},
		{"pty", *ptyMiB > 0, func() { benchPty(*bin, p, *ptyMiB, 3) }},
		{"transfer", *transferMiB > 0, func() { benchTransfer(*bin, p, *transferMiB, 5) }},
		{"kube", true, func() { benchKube(*plugin, *state, *runs/5+1) }},
	}
	chosen, err := choose(sections, *only)
	if err != nil {
		fail("-only: %v", err)
	}
	for i, s := range chosen {
		if i > 0 {
			fmt.Println()
		}
		s.run()
	}
}

// section is one benchmark of the bench, as -only names it.
type section struct {
	name string
	on   bool // off: its flag skips it
	run  func()
}

// choose is the sections to run: those on, or those only names (a
// comma-separated list), in the bench's order.
func choose(sections []section, only string) ([]section, error) {
	var out []section
	if only == "" {
		for _, s := range sections {
			if s.on {
				out = append(out, s)
			}
		}
		return out, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		if !slices.ContainsFunc(sections, func(s section) bool { return s.name == n }) {
			var names []string
			for _, s := range sections {
				names = append(names, s.name)
			}
			return nil, fmt.Errorf("no benchmark %q (there are %s)", n, strings.Join(names, ", "))
		}
		want[n] = true
	}
	for _, s := range sections {
		if want[s.name] {
			out = append(out, s)
		}
	}
	return out, nil
}

func benchEnter(bin, p string, runs int) {
	enter := []contender{
		{"nsenter -t PID -n -p true", []string{"nsenter", "-t", p, "-n", "-p", "true"}},
		{"ctr-enter docker://taka --net --pid -- true", []string{bin, "docker://taka", "--net", "--pid", "--", "true"}},
		{"ctr-enter containerd://e2e/taka --net --pid -- true", []string{bin, "containerd://e2e/taka", "--net", "--pid", "--", "true"}},
		{"ctr-enter pid:PID --net --pid -- true", []string{bin, "pid:" + p, "--net", "--pid", "--", "true"}},
		{"docker exec taka true", []string{"docker", "exec", "taka", "true"}},
		// The floor under every entry: the binary started, its packages
		// initialised, and ended, with nothing entered and no runtime asked.
		{"ctr-enter version (start and exit alone)", []string{bin, "version"}},
	}
	med := measure(enter, runs)
	t := newTable("Time to run `true` in taka's net and pid namespaces: median of %d runs each, interleaved", runs)
	t.times(enter, med, 0, "nsenter")
	base, ours, pid, docker, floor := float64(med[0]), float64(med[1]), float64(med[3]), float64(med[4]), float64(med[5])
	t.goal("within 2.5x of nsenter", ratio(ours, base), ours/base <= 2.5)
	t.goal("pid: within 2x", ratio(pid, base), pid/base <= 2)
	t.goal("10x faster than docker exec", fmt.Sprintf("%.1fx", docker/ours), docker/ours >= 10)
	t.note("the binary's start and exit alone", ratio(floor, base)+" nsenter")
	t.print()
}

// benchTools times a ready session with debug tools mounted beside taka's
// files, against the container docker run makes for the same purpose.
func benchTools(bin string, runs int) {
	// A cache of the benchmark's own, filled before timing: the goal is
	// about a cached image.
	cache, err := os.MkdirTemp("", "ctr-enter-bench-")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(cache)
	os.Setenv("CTR_ENTER_IMAGES", cache)
	defer os.Unsetenv("CTR_ENTER_IMAGES")
	if out, err := exec.Command(bin, "images", "pull", "busybox").CombinedOutput(); err != nil {
		fail("images pull busybox: %v\n%s", err, out)
	}
	cs := []contender{
		{"docker run --rm --net=container:taka --pid=container:taka busybox true", []string{"docker", "run", "--rm", "--net=container:taka", "--pid=container:taka", "busybox", "true"}},
		{"ctr-enter taka --image busybox -- true", []string{bin, "docker://taka", "--image", "busybox", "--", "true"}},
		{"ctr-enter taka --tools -- true (its own tools)", []string{bin, "docker://taka", "--tools", "--", "true"}},
		{"ctr-enter taka -- true (no tools)", []string{bin, "docker://taka", "--", "true"}},
		{"ctr-enter taka --tools -- ss -V (a dynamically linked tool)", []string{bin, "docker://taka", "--tools", "--", "ss", "-V"}},
		{"ctr-enter taka --net -- ss -V (the host's ss, no tools)", []string{bin, "docker://taka", "--net", "--", "ss", "-V"}},
	}
	med := measure(cs, runs)
	t := newTable("A ready tools session in taka, `true`: median of %d runs each, interleaved", runs)
	t.times(cs, med, 0, "docker run")
	t.goal("10x faster than docker run", fmt.Sprintf("%.1fx", float64(med[0])/float64(med[1])), float64(med[0])/float64(med[1]) >= 10)
	// The tools' mount, the launcher (enter/nsexec/launch.c) and the
	// tools' own loader: against the same program run without tools (the
	// host's ss, executed in taka's network namespace), and, for scale,
	// against a session that runs the target's static true.
	dyn := float64(med[4]) / float64(med[5])
	t.goal("a dynamically linked tool within 1.2x of a session without tools running it", ratio(dyn, 1), dyn <= 1.2)
	t.note("against a session running taka's true", ratio(float64(med[4]), float64(med[3])))
	t.print()
}

// benchEphemeral times a throwaway debug container in taka's network
// namespace, made and removed through the runtime, against docker run.
func benchEphemeral(bin string, runs int) {
	cs := []contender{
		{"docker run --rm --net=container:taka busybox true", []string{"docker", "run", "--rm", "--net=container:taka", "busybox", "true"}},
		{"ctr-enter attach docker://taka --rm -- true", []string{bin, "attach", "docker://taka", "--rm", "--share", "net", "--image", "busybox", "--", "true"}},
		{"ctr-enter attach containerd://e2e/taka --rm -- true", []string{bin, "attach", "containerd://e2e/taka", "--rm", "--share", "net", "--image", "busybox", "--", "true"}},
		// containerd 2.x, as e2e/env.sh runs it beside 1.6
		{"  the same on containerd 2.x", []string{bin, "--containerd-address", "/run/ctr-enter-e2e/containerd2.sock", "attach", "containerd://e2e/taka", "--rm", "--share", "net", "--image", "busybox", "--", "true"}},
	}
	med := measure(cs, runs)
	t := newTable("An ephemeral container in taka's network namespace, `true`, removed: median of %d runs each, interleaved", runs)
	t.times(cs, med, 0, "docker run")
	t.print()
}

// measure runs every contender n times, interleaved so that a slow moment
// of the machine does not fall on one contender only, and returns medians.
func measure(cs []contender, n int) []time.Duration {
	times := measureAll(cs, n)
	med := make([]time.Duration, len(cs))
	for j := range cs {
		med[j] = medianD(times[j])
	}
	return med
}

// measureAll is measure's every run: n times of each contender, in order.
func measureAll(cs []contender, n int) [][]time.Duration {
	times := make([][]time.Duration, len(cs))
	for i := 0; i < n; i++ {
		for j, c := range cs {
			start := time.Now()
			cmd := exec.Command(c.argv[0], c.argv[1:]...)
			if out, err := cmd.CombinedOutput(); err != nil {
				fail("%s: %v\n%s", c.name, err, out)
			}
			times[j] = append(times[j], time.Since(start))
		}
	}
	return times
}

// cleanups undo what benchmarks made, last first, when the bench ends
// early (fail, or an interrupt): deferred calls do not run then.
var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

// onFail registers undo to run if the bench ends early.
func onFail(undo func()) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	cleanups = append(cleanups, undo)
}

// runCleanups runs (once) what onFail registered.
func runCleanups() {
	cleanupMu.Lock()
	cs := cleanups
	cleanups = nil
	cleanupMu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	runCleanups()
	os.Exit(1)
}

// cleanUpOnInterrupt removes what benchmarks made when the bench is
// interrupted (^C, or a timeout's SIGTERM).
func cleanUpOnInterrupt() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "bench: %v: removing what the bench made\n", s)
		runCleanups()
		os.Exit(1)
	}()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// warnf reports what went wrong without ending the bench.
func warnf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
