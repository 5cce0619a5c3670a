package main

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// benchRSS measures the memory an entry costs against nsenter's, and the
// binary's size and linking.
//
// The goal is judged on the tool's own VmHWM, read from /proc while its
// payload (sleep 0.3 instead of true) runs, and on the largest VmHWM of
// its other descendants then (a helper that has exited by then is not
// seen). wait4's ru_maxrss is printed beside it but cannot judge: the
// kernel records the peak of the address space a process leaves at exec,
// and a child that Go starts leaves the bench's own (vfork), so every
// command shows at least the bench's RSS, as `true` alone does.
func benchRSS(bin, pid string, runs int) {
	cs := []contender{
		{"nsenter -t PID -n -p true", []string{"nsenter", "-t", pid, "-n", "-p", "true"}},
		{"ctr-enter docker://taka --net --pid -- true", []string{bin, "docker://taka", "--net", "--pid", "--", "true"}},
	}
	waited := make([][]float64, len(cs))
	own := make([][]float64, len(cs))
	desc := make([][]float64, len(cs))
	for range runs {
		for i, c := range cs {
			waited[i] = append(waited[i], float64(maxRSS(c)))
			// The same command with a payload that waits to be seen.
			argv := append(append([]string{}, c.argv[:len(c.argv)-1]...), "sleep", "0.3")
			o, d := sampledHWM(contender{c.name, argv})
			own[i] = append(own[i], float64(o))
			desc[i] = append(desc[i], float64(d))
		}
	}
	t := newTable("Peak RSS of an entry, `true` in taka's net and pid namespaces: median of %d runs each, interleaved", runs)
	t.row("", "own VmHWM", "largest descendant's", "wait4 maxrss")
	peak := make([]float64, len(cs))
	for i, c := range cs {
		peak[i] = max(medianF(own[i]), medianF(desc[i]))
		t.row(c.name, fmtMiB(int64(medianF(own[i]))), fmtMiB(int64(medianF(desc[i]))), fmtMiB(int64(medianF(waited[i]))))
	}
	t.row("true (wait4 maxrss: what the bench's own adds)", "", "", fmtMiB(maxRSS(contender{"true", []string{"true"}})))
	var floor []float64
	for range runs {
		floor = append(floor, float64(startHWM(bin)))
	}
	t.row("ctr-enter version (started, about to exit)", fmtMiB(int64(medianF(floor))), "", "")
	size, static := binaryFacts(bin)
	t.row("ctr-enter's binary: "+bin, fmtMiB(size>>10), map[bool]string{true: "static", false: "DYNAMIC"}[static], "")
	diff := (peak[1] - peak[0]) / 1024
	t.goal("peak (the larger of own and descendant's) <= nsenter's + 10 MiB", fmt.Sprintf("%+.1f MiB", diff), diff <= 10)
	t.goal("a static binary <= 25 MiB", fmtMiB(size>>10), static && size <= 25<<20)
	t.note("the binary started alone", fmt.Sprintf("%+.1f MiB", (medianF(floor)-peak[0])/1024))
	t.print()
}

// maxRSS runs c and returns wait4's ru_maxrss, in KiB.
func maxRSS(c contender) int64 {
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	if out, err := cmd.CombinedOutput(); err != nil {
		fail("%s: %v\n%s", c.name, err, out)
	}
	return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
}

// sampledHWM runs c, whose payload is a sleep, and once the sleep runs
// reads the VmHWM of c's process and the largest of its other
// descendants', in KiB.
func sampledHWM(c contender) (own, descendants int64) {
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	if err := cmd.Start(); err != nil {
		fail("%s: %v", c.name, err)
	}
	root := cmd.Process.Pid
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		tree := descendantsOf(root, parents())
		var sleeping bool
		for _, p := range tree {
			if comm(p) == "sleep" {
				sleeping = true
			}
		}
		if sleeping {
			own = vmHWM(root)
			for _, p := range tree {
				if comm(p) != "sleep" {
					descendants = max(descendants, vmHWM(p))
				}
			}
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := cmd.Wait(); err != nil {
		fail("%s: %v", c.name, err)
	}
	if own == 0 {
		fail("%s: its payload was never seen running", c.name)
	}
	return own, descendants
}

// startHWM is the VmHWM, in KiB, of `bin version` once it has done all
// but exit: it is read while the version is being written to a pipe the
// bench filled first, where the process waits until the bench drains it.
// (Its wait4 maxrss would be the bench's own; see benchRSS.)
func startHWM(bin string) int64 {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		fail("pipe: %v", err)
	}
	defer unix.Close(p[0])
	fill := make([]byte, 4096)
	for {
		if _, err := unix.Write(p[1], fill); err == unix.EAGAIN {
			break
		} else if err != nil {
			fail("fill a pipe: %v", err)
		}
	}
	// Blocking from now on, so that the command waits in its write.
	unix.SetNonblock(p[1], false)
	stdout := os.NewFile(uintptr(p[1]), "pipe")
	cmd := exec.Command(bin, "version")
	cmd.Stdout = stdout
	if err := cmd.Start(); err != nil {
		fail("%s version: %v", bin, err)
	}
	stdout.Close()
	var hwm int64
	for deadline := time.Now().Add(5 * time.Second); hwm == 0 && time.Now().Before(deadline); {
		if writing(cmd.Process.Pid) {
			hwm = vmHWM(cmd.Process.Pid)
		} else {
			time.Sleep(time.Millisecond)
		}
	}
	unix.SetNonblock(p[0], false)
	for {
		if n, err := unix.Read(p[0], fill); n <= 0 && err != unix.EINTR {
			break
		}
	}
	if err := cmd.Wait(); err != nil {
		fail("%s version: %v", bin, err)
	}
	if hwm == 0 {
		fail("%s version was never seen writing", bin)
	}
	return hwm
}

// writing says whether a thread of p is in write(2) to its standard output.
func writing(p int) bool {
	tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(p), "task", "*", "syscall"))
	for _, t := range tasks {
		if b, _ := os.ReadFile(t); strings.HasPrefix(string(b), "1 0x1 ") {
			return true
		}
	}
	return false
}

// parents maps every process of the host to its parent.
func parents() map[int]int {
	m := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, ok := ppid(p); ok {
			m[p] = pp
		}
	}
	return m
}

// descendantsOf are the processes below root in the tree parents
// describes.
func descendantsOf(root int, parents map[int]int) []int {
	var out []int
	for p := range parents {
		for q := parents[p]; q > 1; q = parents[q] {
			if q == root {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

func ppid(p int) (int, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "stat"))
	if err != nil {
		return 0, false
	}
	// The name, in parentheses, may hold anything: the fields follow
	// its last parenthesis.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(f[1])
	return n, err == nil
}

func comm(p int) string {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "comm"))
	return strings.TrimSpace(string(b))
}

// vmHWM is the peak RSS of p so far, in KiB (0 if p is gone).
func vmHWM(p int) int64 {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "status"))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// binaryFacts are the size of bin and whether it is static (no program
// interpreter, no shared library needed).
func binaryFacts(bin string) (size int64, static bool) {
	fi, err := os.Stat(bin)
	if err != nil {
		fail("%v", err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		fail("%v", err)
	}
	defer f.Close()
	static = true
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			static = false
		}
	}
	return fi.Size(), static
}
