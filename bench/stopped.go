package main

import (
	"fmt"
	"os/exec"
)

// benchStopped times a session over a stopped container's files against
// what people do today to get into one: commit it to an image and run a
// new container of that image (moby#30361).
func benchStopped(bin string, runs int) {
	const name, image = "ctr-enter-bench-stopped", "ctr-enter-bench-stopped:latest"
	exec.Command("docker", "rm", "-f", name).Run()
	if out, err := exec.Command("docker", "run", "--name", name, "ctr-enter-test/busybox", "sh", "-c", "echo broken > /etc/app.conf; exit 1").CombinedOutput(); err != nil && exec.Command("docker", "inspect", name).Run() != nil {
		fail("create %s: %v\n%s", name, err, out)
	}
	defer func() {
		exec.Command("docker", "rm", "-f", name).Run()
		exec.Command("docker", "rmi", "-f", image).Run()
		// The commits that each run's commit replaced, and only those.
		exec.Command("docker", "image", "prune", "-f", "--filter", "label=ctr-enter-bench-stopped").Run()
	}()
	cs := []contender{
		{"docker commit + docker run --rm of the commit, true", []string{"sh", "-c",
			"docker commit --change 'LABEL ctr-enter-bench-stopped=1' " + name + " " + image + " >/dev/null && docker run --rm " + image + " true"}},
		{"ctr-enter docker://STOPPED -- true", []string{bin, "docker://" + name, "--", "true"}},
	}
	med := measure(cs, runs)
	t := newTable("Into a stopped Docker container, `true`: median of %d runs each, interleaved", runs)
	t.times(cs, med, 0, "commit+run")
	r := float64(med[1]) / float64(med[0])
	t.goal("at most 0.1x of commit+run", fmt.Sprintf("%.3fx", r), r <= 0.1)
	t.print()
}
