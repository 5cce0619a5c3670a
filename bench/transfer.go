package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/thread"
)

// benchTransfer measures port-forward against connecting straight to
// taka's address from the host (throughput of mib MiB, and the time to
// connect and get a first answer), and cp against docker cp.
func benchTransfer(bin, pid string, mib, runs int) {
	ip, err := exec.Command("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "taka").Output()
	if err != nil || strings.TrimSpace(string(ip)) == "" {
		fail("taka's IP address: %v", err)
	}
	port, server := serveIn(pid)
	direct := net.JoinHostPort(strings.TrimSpace(string(ip)), strconv.Itoa(port))
	fw := exec.Command(bin, "port-forward", "docker://taka", ":"+strconv.Itoa(port))
	out, _ := fw.StdoutPipe()
	fw.Stderr = os.Stderr
	if err := fw.Start(); err != nil {
		fail("port-forward: %v", err)
	}
	defer func() { fw.Process.Signal(syscall.SIGINT); fw.Wait() }()
	var forwarded string
	var remote int
	line, _ := bufio.NewReader(out).ReadString('\n')
	if _, err := fmt.Sscanf(line, "Forwarding from %s -> %d", &forwarded, &remote); err != nil {
		fail("port-forward printed %q", line)
	}

	var tput [2][]float64 // MiB/s: direct, forwarded
	for i := 0; i < runs; i++ {
		for j, addr := range []string{direct, forwarded} {
			tput[j] = append(tput[j], sendMiB(addr, mib))
		}
	}
	var lat [2][]time.Duration
	for i := 0; i < runs*40; i++ {
		for j, addr := range []string{direct, forwarded} {
			lat[j] = append(lat[j], latency(addr))
		}
	}
	// The same with the client, the server and the forwarder on one CPU,
	// where no wakeup crosses to another: on this kind of machine one
	// that does costs more than the relay's whole work (see wakeup).
	var one [2][]time.Duration
	restore := pinAll(0, os.Getpid(), server, fw.Process.Pid)
	for i := 0; i < runs*40; i++ {
		for j, addr := range []string{direct, forwarded} {
			one[j] = append(one[j], latency(addr))
		}
	}
	restore()
	td, tf := medianF(tput[0]), medianF(tput[1])
	ld, lf := medianD(lat[0]), medianD(lat[1])
	od, of := medianD(one[0]), medianD(one[1])
	t := newTable("port-forward to a server in taka's network namespace, against taka's address from the host: medians, interleaved")
	t.row(fmt.Sprintf("throughput, %d MiB, straight to %s", mib, direct), fmtMiBs(td), "")
	t.row("throughput through ctr-enter port-forward", fmtMiBs(tf), ratio(tf, td))
	t.row("connect and first answer, straight", fmt.Sprintf("%.3f ms", ms(ld)), "")
	t.row("connect and first answer, through port-forward", fmt.Sprintf("%.3f ms", ms(lf)), ratio(float64(lf), float64(ld)))
	t.row("the same, every process on one CPU: straight", fmt.Sprintf("%.3f ms", ms(od)), "")
	t.row("the same, every process on one CPU: through port-forward", fmt.Sprintf("%.3f ms", ms(of)), ratio(float64(of), float64(od)))
	if runtime.NumCPU() > 1 {
		t.row("a thread woken by one on another CPU, on the same CPU", fmt.Sprintf("%.1f µs, %.1f µs", us(wakeup(0, 1)), us(wakeup(0, 0))), "")
	}
	t.goal("throughput >= 0.8x", ratio(tf, td), tf/td >= 0.8)
	t.goal("latency <= 1.5x", ratio(float64(lf), float64(ld)), float64(lf)/float64(ld) <= 1.5)
	t.print()
	fmt.Println()
	benchCp(bin, pid, mib, runs)
}

// serveEnv names, in the environment of a copy of the bench started by
// serveIn, the pid whose network namespace that copy serves in.
const serveEnv = "CTR_ENTER_BENCH_SERVE_IN"

// serverStdin is the server's standard input, open while the bench runs.
var serverStdin io.WriteCloser

// The copy serves before main parses flags, and exits when its standard
// input ends (the bench that started it ended).
func init() {
	if pid := os.Getenv(serveEnv); pid != "" {
		serve(pid)
		os.Exit(0)
	}
}

// serveIn starts a server in the network namespace of pid, in a process of
// its own (a copy of the bench), and returns its port.
//
// Its own process, as every server in a container is: served from the
// bench's process, as it was, a straight connection never left that
// process: the client's write, the server's read and answer, and the
// client's read ran on one thread of one Go runtime, its netpoller
// finding each side ready in turn, with no context switch at all; a
// connection through port-forward has to reach another process and come
// back, so the ratio measured that, not the forwarder's cost. With the
// server apart, both ways reach the same server through the same
// switches, and the forwarder adds only its own.
func serveIn(pid string) (port, server int) {
	self, err := os.Executable()
	if err != nil {
		fail("%v", err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), serveEnv+"="+pid)
	cmd.Stderr = os.Stderr
	// Never written: its end, with the bench, ends the server. Kept
	// (serverStdin) so that no finalizer closes it before.
	if serverStdin, err = cmd.StdinPipe(); err != nil {
		fail("%v", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		fail("%v", err)
	}
	if err := cmd.Start(); err != nil {
		fail("server in taka: %v", err)
	}
	if _, err := fmt.Fscan(out, &port); err != nil {
		fail("server in taka: %v", err)
	}
	return port, cmd.Process.Pid
}

// pinAll puts every thread of each of pids on cpu, and returns what puts
// them back on all the CPUs the bench had.
func pinAll(cpu int, pids ...int) (restore func()) {
	var all, one unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		fail("sched_getaffinity: %v", err)
	}
	one.Set(cpu)
	set := func(s *unix.CPUSet) {
		for _, p := range pids {
			tids, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(p), "task", "*"))
			for _, t := range tids {
				tid, _ := strconv.Atoi(filepath.Base(t))
				if err := unix.SchedSetaffinity(tid, s); err != nil && err != unix.ESRCH {
					fail("sched_setaffinity %d: %v", tid, err)
				}
			}
		}
	}
	set(&one)
	return func() { set(&all) }
}

// wakeup is the time a thread on CPU a takes to wake one that sleeps on
// CPU b: half a round trip between the two, through two pipes.
func wakeup(a, b int) time.Duration {
	var p, q [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		fail("pipe: %v", err)
	}
	if err := unix.Pipe2(q[:], unix.O_CLOEXEC); err != nil {
		fail("pipe: %v", err)
	}
	defer func() {
		for _, fd := range []int{p[0], p[1], q[0], q[1]} {
			unix.Close(fd)
		}
	}()
	const n = 2000
	pin := func(cpu int) {
		var s unix.CPUSet
		s.Set(cpu)
		if err := unix.SchedSetaffinity(0, &s); err != nil {
			fail("sched_setaffinity: %v", err)
		}
	}
	done := make(chan struct{})
	go func() {
		// Never unlocked: the thread, pinned, ends with the goroutine.
		runtime.LockOSThread()
		pin(b)
		buf := []byte{0}
		for range n {
			unix.Read(p[0], buf)
			unix.Write(q[1], buf)
		}
		close(done)
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var all unix.CPUSet
	unix.SchedGetaffinity(0, &all)
	defer unix.SchedSetaffinity(0, &all)
	pin(a)
	buf := []byte{0}
	start := time.Now()
	for range n {
		unix.Write(p[1], buf)
		unix.Read(q[0], buf)
	}
	d := time.Since(start)
	<-done
	return d / (2 * n)
}

// serve listens on every address of the network namespace of pid, from a
// thread that joined it (thread.Dedicate), prints its port, and serves
// until its standard input ends: a connection that starts with L is
// answered at once, one that starts with T is drained and then answered.
func serve(pid string) {
	ch := make(chan net.Listener)
	thread.Dedicate(func() {
		f, err := os.Open("/proc/" + pid + "/ns/net")
		if err != nil {
			fail("%v", err)
		}
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			fail("setns: %v", err)
		}
		l, err := net.Listen("tcp", "0.0.0.0:0")
		if err != nil {
			fail("listen in taka: %v", err)
		}
		ch <- l
	})
	l := <-ch
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := make([]byte, 1)
				if _, err := io.ReadFull(c, b); err != nil {
					return
				}
				if b[0] == 'T' {
					io.Copy(io.Discard, c)
				}
				c.Write(b)
			}()
		}
	}()
	fmt.Println(l.Addr().(*net.TCPAddr).Port)
	io.Copy(io.Discard, os.Stdin)
}

// sendMiB sends mib MiB to addr and waits for the answer, in MiB/s.
func sendMiB(addr string, mib int) float64 {
	start := time.Now()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		fail("dial %s: %v", addr, err)
	}
	defer c.Close()
	buf := make([]byte, 1<<20)
	buf[0] = 'T'
	for i := 0; i < mib; i++ {
		if _, err := c.Write(buf); err != nil {
			fail("write to %s: %v", addr, err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	if _, err := io.ReadFull(c, buf[:1]); err != nil {
		fail("read from %s: %v", addr, err)
	}
	return float64(mib) / time.Since(start).Seconds()
}

// latency is the time to connect to addr and get a first answer.
func latency(addr string) time.Duration {
	start := time.Now()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		fail("dial %s: %v", addr, err)
	}
	defer c.Close()
	b := []byte{'L'}
	if _, err := c.Write(b); err != nil {
		fail("write to %s: %v", addr, err)
	}
	if _, err := io.ReadFull(c, b); err != nil {
		fail("read from %s: %v", addr, err)
	}
	return time.Since(start)
}

// benchCp times copying a file of mib MiB out of taka and into it, with
// ctr-enter cp and docker cp.
func benchCp(bin, pid string, mib, runs int) {
	dir, err := os.MkdirTemp("", "ctr-enter-bench-cp-")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "src")
	f, err := os.Create(src)
	if err != nil {
		fail("%v", err)
	}
	buf := make([]byte, 1<<20)
	for i := 0; i < mib; i++ {
		buf[0] = byte(i)
		f.Write(buf)
	}
	f.Close()
	const inTaka = "/tmp/ctr-enter-bench-cp"
	// Made and removed from the host: the benchmark's own file in its
	// own test container.
	defer os.RemoveAll("/proc/" + pid + "/root" + inTaka)
	if out, err := exec.Command(bin, "cp", src, "docker://taka:"+inTaka).CombinedOutput(); err != nil {
		fail("cp into taka: %v\n%s", err, out)
	}
	cs := []contender{
		{"docker cp taka:FILE DIR", []string{"docker", "cp", "taka:" + inTaka, filepath.Join(dir, "out-docker")}},
		{"ctr-enter cp docker://taka:FILE DIR", []string{bin, "cp", "docker://taka:" + inTaka, filepath.Join(dir, "out-ours")}},
		{"docker cp FILE taka:FILE", []string{"docker", "cp", src, "taka:" + inTaka + "-in"}},
		{"ctr-enter cp FILE docker://taka:FILE", []string{bin, "cp", src, "docker://taka:" + inTaka + "-in"}},
	}
	defer os.Remove("/proc/" + pid + "/root" + inTaka + "-in")
	med := measure(cs, runs)
	t := newTable("Copying a %d MiB file out of and into taka: median of %d runs each, interleaved", mib, runs)
	for i, c := range cs {
		t.row(c.name, fmtMiBs(float64(mib)/med[i].Seconds()))
	}
	out, in := float64(med[0])/float64(med[1]), float64(med[2])/float64(med[3])
	t.goal("cp at least as fast as docker cp, out", ratio(out, 1), out >= 1)
	t.goal("in", ratio(in, 1), in >= 1)
	t.print()
}

func medianF(v []float64) float64 {
	sort.Float64s(v)
	return v[len(v)/2]
}

func medianD(v []time.Duration) time.Duration {
	sort.Slice(v, func(a, b int) bool { return v[a] < v[b] })
	return v[len(v)/2]
}

// fmtMiBs is a throughput as the tables print it.
func fmtMiBs(v float64) string { return fmt.Sprintf("%.0f MiB/s", v) }
