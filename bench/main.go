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
	"sort"
	"strings"
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
	flag.Parse()

	pid, err := exec.Command("docker", "inspect", "-f", "{{.State.Pid}}", "taka").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: no Docker container taka (e2e/env.sh up):", err)
		os.Exit(1)
	}
	p := strings.TrimSpace(string(pid))
	benchEnter(*bin, p, *runs)
	fmt.Println()
	benchTools(*bin, *runs/5+1)
	fmt.Println()
	benchEphemeral(*bin, *runs/5+1)
	benchStopped(*bin, *runs/5+1)
	if *ptyMiB > 0 {
		fmt.Println()
		benchPty(*bin, *ptyMiB)
	}
	if *transferMiB > 0 {
		fmt.Println()
		benchTransfer(*bin, p, *transferMiB, 5)
	}
	fmt.Println()
	benchKube(*plugin, *state, *runs/5+1)
}

func benchEnter(bin, p string, runs int) {
	enter := []contender{
		{"nsenter -t PID -n -p true", []string{"nsenter", "-t", p, "-n", "-p", "true"}},
		{"ctr-enter docker://taka --net --pid -- true", []string{bin, "docker://taka", "--net", "--pid", "--", "true"}},
		{"ctr-enter containerd://e2e/taka --net --pid -- true", []string{bin, "containerd://e2e/taka", "--net", "--pid", "--", "true"}},
		{"ctr-enter pid:PID --net --pid -- true", []string{bin, "pid:" + p, "--net", "--pid", "--", "true"}},
		{"docker exec taka true", []string{"docker", "exec", "taka", "true"}},
	}
	med := measure(enter, runs)
	fmt.Printf("Time to run `true` in taka's net and pid namespaces: median of %d runs each, interleaved\n", runs)
	base := med[0]
	for i, c := range enter {
		fmt.Printf("  %-55s %9.2f ms  %6.2fx nsenter\n", c.name, ms(med[i]), float64(med[i])/float64(base))
	}
	ours, docker := med[1], med[len(med)-1]
	fmt.Printf("Goal: within 2.5x of nsenter: %.2fx (%s); 10x faster than docker exec: %.1fx (%s)\n",
		float64(ours)/float64(base), verdict(float64(ours)/float64(base) <= 2.5),
		float64(docker)/float64(ours), verdict(float64(docker)/float64(ours) >= 10))
}

// benchTools times a ready session with debug tools mounted beside taka's
// files, against the container docker run makes for the same purpose.
func benchTools(bin string, runs int) {
	// A cache of the benchmark's own, filled before timing: the goal is
	// about a cached image.
	cache, err := os.MkdirTemp("", "ctr-enter-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(cache)
	os.Setenv("CTR_ENTER_IMAGES", cache)
	defer os.Unsetenv("CTR_ENTER_IMAGES")
	if out, err := exec.Command(bin, "images", "pull", "busybox").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: images pull busybox: %v\n%s", err, out)
		os.Exit(1)
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
	fmt.Printf("A ready tools session in taka, `true`: median of %d runs each, interleaved\n", runs)
	for i, c := range cs {
		fmt.Printf("  %-70s %9.2f ms  %6.2fx docker run\n", c.name, ms(med[i]), float64(med[i])/float64(med[0]))
	}
	fmt.Printf("Goal: 10x faster than docker run: %.1fx (%s)\n", float64(med[0])/float64(med[1]), verdict(float64(med[0])/float64(med[1]) >= 10))
	// The tools' mount, the launcher (enter/nsexec/launch.c) and the
	// tools' own loader: against the same program run without tools (the
	// host's ss, executed in taka's network namespace), and, for scale,
	// against a session that runs the target's static true.
	dyn := float64(med[4]) / float64(med[5])
	fmt.Printf("Goal: a dynamically linked tool within 1.2x of a session without tools running it: %.2fx (%s); %.2fx a session running taka's true\n",
		dyn, verdict(dyn <= 1.2), float64(med[4])/float64(med[3]))
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
	fmt.Printf("An ephemeral container in taka's network namespace, `true`, removed: median of %d runs each, interleaved\n", runs)
	for i, c := range cs {
		fmt.Printf("  %-55s %9.2f ms  %6.2fx docker run\n", c.name, ms(med[i]), float64(med[i])/float64(med[0]))
	}
}

// measure runs every contender n times, interleaved so that a slow moment
// of the machine does not fall on one contender only, and returns medians.
func measure(cs []contender, n int) []time.Duration {
	times := make([][]time.Duration, len(cs))
	for i := 0; i < n; i++ {
		for j, c := range cs {
			start := time.Now()
			cmd := exec.Command(c.argv[0], c.argv[1:]...)
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "bench: %s: %v\n%s", c.name, err, out)
				os.Exit(1)
			}
			times[j] = append(times[j], time.Since(start))
		}
	}
	med := make([]time.Duration, len(cs))
	for j := range cs {
		sort.Slice(times[j], func(a, b int) bool { return times[j][a] < times[j][b] })
		med[j] = times[j][n/2]
	}
	return med
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}
