package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/creack/pty"
)

// benchPty pushes mib MiB of zeros through a terminal (-t) with each tool,
// the client side on a real pty as under a terminal emulator, and reports
// throughput and the client's peak RSS.
func benchPty(bin string, mib int) {
	n := fmt.Sprint(mib << 20)
	cs := []contender{
		{"ctr-enter docker://taka -t", []string{bin, "docker://taka", "-t", "--", "head", "-c", n, "/dev/zero"}},
		{"docker exec -t taka", []string{"docker", "exec", "-t", "taka", "head", "-c", n, "/dev/zero"}},
		{"ctr task exec -t (containerd taka)", []string{"ctr", "-n", "e2e", "task", "exec", "-t", "--exec-id", "bench", "taka", "head", "-c", n, "/dev/zero"}},
	}
	fmt.Printf("Throughput of `head -c %dM /dev/zero` through a terminal, and the client's peak RSS\n", mib)
	results := make([]float64, len(cs))
	rss := make([]int64, len(cs))
	for i, c := range cs {
		results[i], rss[i] = throughput(c, int64(mib)<<20)
		fmt.Printf("  %-40s %8.1f MiB/s  %7.1f MiB peak RSS\n", c.name, results[i], float64(rss[i])/1024)
	}
	fmt.Printf("Goal: 1.5x docker exec's throughput: %.2fx (%s); less memory than the docker CLI: %.1f vs %.1f MiB (%s)\n",
		results[0]/results[1], verdict(results[0] >= 1.5*results[1]),
		float64(rss[0])/1024, float64(rss[1])/1024, verdict(rss[0] < rss[1]))
}

func throughput(c contender, want int64) (mibPerSec float64, maxRSSKiB int64) {
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	start := time.Now()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %s: %v\n", c.name, err)
		os.Exit(1)
	}
	got, _ := io.Copy(io.Discard, f) // EIO when the client has gone
	cmd.Wait()
	elapsed := time.Since(start)
	f.Close()
	if got < want {
		fmt.Fprintf(os.Stderr, "bench: %s: only %d of %d bytes came through\n", c.name, got, want)
		os.Exit(1)
	}
	return float64(got) / (1 << 20) / elapsed.Seconds(), cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
}
