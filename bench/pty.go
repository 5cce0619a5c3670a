package main

import (
	"fmt"
	"os/exec"
	"time"

	"github.com/creack/pty"
)

// benchPty pushes mib MiB of zeros through a terminal (-t) with each tool,
// the client side on a real pty as under a terminal emulator, and reports
// throughput and the client's peak RSS; runs times each, interleaved.
//
// The floor is the same command in taka's namespaces (nsenter, pid given)
// writing straight to the pty the bench reads: no relay at all. Every
// tool with -t gives the command a terminal of its own and copies from it
// to the caller's, so the floor is what the copying costs nothing.
func benchPty(bin, pid string, mib, runs int) {
	n := fmt.Sprint(mib << 20)
	cs := []contender{
		{"nsenter -t PID -a head (the floor: no relay)", []string{"nsenter", "-t", pid, "-a", "head", "-c", n, "/dev/zero"}},
		{"ctr-enter docker://taka -t", []string{bin, "docker://taka", "-t", "--", "head", "-c", n, "/dev/zero"}},
		{"docker exec -t taka", []string{"docker", "exec", "-t", "taka", "head", "-c", n, "/dev/zero"}},
		{"ctr task exec -t (containerd taka)", []string{"ctr", "-n", "e2e", "task", "exec", "-t", "--exec-id", "bench", "taka", "head", "-c", n, "/dev/zero"}},
	}
	tput := make([][]float64, len(cs))
	rss := make([][]float64, len(cs))
	for range runs {
		for i, c := range cs {
			v, kib := throughput(c, int64(mib)<<20)
			tput[i] = append(tput[i], v)
			rss[i] = append(rss[i], float64(kib))
		}
	}
	res := make([]float64, len(cs))
	t := newTable("Throughput of `head -c %dM /dev/zero` through a terminal, and the client's peak RSS: median of %d runs each, interleaved", mib, runs)
	for i, c := range cs {
		res[i] = medianF(tput[i])
		t.row(c.name, fmt.Sprintf("%.1f MiB/s", res[i]), ratio(res[i], res[0])+" floor", fmtMiB(int64(medianF(rss[i])))+" peak RSS")
	}
	floor, ours, docker := res[0], res[1], res[2]
	t.goal("0.7x the floor", ratio(ours, floor), ours >= 0.7*floor)
	t.goal("1.5x docker exec's throughput", ratio(ours, docker), ours >= 1.5*docker)
	ourRSS, dockerRSS := medianF(rss[1]), medianF(rss[2])
	t.goal("less memory than the docker CLI", fmt.Sprintf("%s vs %s", fmtMiB(int64(ourRSS)), fmtMiB(int64(dockerRSS))), ourRSS < dockerRSS)
	t.print()
}

// throughput runs c on a pty of its own, reads everything it writes
// there, and returns the rate and c's peak RSS: its VmHWM, read every
// 10 ms while it runs (a high-water mark, so the last reading is the
// peak up to then). wait4's maxrss would be the bench's own at least,
// which a child leaves at exec (see rss.go).
func throughput(c contender, want int64) (mibPerSec float64, peakKiB int64) {
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	start := time.Now()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		fail("%s: %v", c.name, err)
	}
	buf := make([]byte, 64<<10)
	var got int64
	var sampled time.Time
	for {
		n, err := f.Read(buf) // EIO when the client has gone
		got += int64(n)
		if time.Since(sampled) > 10*time.Millisecond {
			if h := vmHWM(cmd.Process.Pid); h > 0 { // 0: exited
				peakKiB = h
			}
			sampled = time.Now()
		}
		if err != nil {
			break
		}
	}
	cmd.Wait()
	elapsed := time.Since(start)
	f.Close()
	if got < want {
		fail("%s: only %d of %d bytes came through", c.name, got, want)
	}
	if peakKiB == 0 {
		fail("%s: its peak RSS was never read", c.name)
	}
	return float64(got) / (1 << 20) / elapsed.Seconds(), peakKiB
}
