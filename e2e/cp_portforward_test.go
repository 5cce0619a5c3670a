//go:build e2e

package e2e

// cp and port-forward: files and ports of running targets, reached from the
// host with no tool in the target.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/thread"
)

// inRoot is path in the root of the container whose process is pid, as
// the test (trusted, and careful to use only paths it made) reads it.
func inRoot(pid int, path string) string {
	return fmt.Sprintf("/proc/%d/root%s", pid, path)
}

func fileDigest(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestCpNoshell(t *testing.T) {
	forEachRef(t, noshells, func(t *testing.T, ref string) {
		pid := targetPID(t, ref)
		dir := t.TempDir()

		// Out: the static binary, the only file the image has.
		r := run(t, "cp", ref+":/pause", filepath.Join(dir, "pause"))
		if r.code != 0 {
			t.Fatalf("cp out: %v", r)
		}
		if got, want := fileDigest(t, filepath.Join(dir, "pause")), fileDigest(t, inRoot(pid, "/pause")); got != want {
			t.Errorf("copied /pause: sha256 %s, want %s", got, want)
		}

		// In: the read-only root refuses, on one line; /dev/shm (a
		// tmpfs the runtime mounts) takes the file.
		src := filepath.Join(dir, "note")
		if err := os.WriteFile(src, []byte("from the host\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		oneLineError(t, run(t, "cp", src, ref+":/note"), 125, "read-only file system")
		if _, err := os.Lstat(inRoot(pid, "/note")); err == nil {
			t.Errorf("/note exists in the read-only root")
		}
		name := fmt.Sprintf("/dev/shm/cp-e2e-%d", os.Getpid())
		t.Cleanup(func() { os.Remove(inRoot(pid, name)) })
		if r := run(t, "cp", src, ref+":"+name); r.code != 0 || r.stderr != "" {
			t.Fatalf("cp in: %v", r)
		}
		b, err := os.ReadFile(inRoot(pid, name))
		if err != nil || string(b) != "from the host\n" {
			t.Errorf("%s in the target: %q, %v", name, b, err)
		}
		if fi, err := os.Stat(inRoot(pid, name)); err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v, %v; want 0640", name, fi.Mode(), err)
		}

		// A tar stream out, as docker cp writes one.
		cmd := command("cp", ref+":"+name, "-")
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("cp to -: %v", err)
		}
		tr := exec.Command("tar", "-tvf", "-")
		tr.Stdin = &out
		listing, err := tr.CombinedOutput()
		if err != nil || !strings.Contains(string(listing), filepath.Base(name)) || !strings.HasPrefix(string(listing), "-rw-r-----") {
			t.Errorf("tar -tv of cp's stream: %v\n%s", err, listing)
		}
	})
}

// TestCpBigFileRoundTrip copies 1 GiB into a container and back, and
// checks the copy and ctr-enter's peak memory.
func TestCpBigFileRoundTrip(t *testing.T) {
	forEachRuntime(t, defaultRuntimes, func(t *testing.T, rt containerRuntime) {
		c := rt.start(t, fmt.Sprintf("e2e-cp-big-%d", os.Getpid()))
		dir := t.TempDir()
		src := filepath.Join(dir, "big")
		f, err := os.Create(src)
		if err != nil {
			t.Fatal(err)
		}
		block := make([]byte, 1<<20)
		for i := 0; i < 1024; i++ {
			rand.Read(block[:64]) // every MiB different
			if _, err := f.Write(block); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
		want := fileDigest(t, src)

		peak := func(args ...string) int64 {
			t.Helper()
			cmd := command(args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v: %v\n%s", args, err, stderr.String())
			}
			rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB
			t.Logf("%v: %.1fs, peak RSS %d KiB", args[:2], time.Since(start).Seconds(), rss)
			return rss
		}
		in := peak(rt.args("cp", src, rt.ref(c.name)+":/big")...)
		if got := fileDigest(t, inRoot(c.pid, "/big")); got != want {
			t.Errorf("in the container: sha256 %s, want %s", got, want)
		}
		back := filepath.Join(dir, "back")
		out := peak(rt.args("cp", rt.ref(c.name)+":/big", back)...)
		if got := fileDigest(t, back); got != want {
			t.Errorf("copied back: sha256 %s, want %s", got, want)
		}
		for what, rss := range map[string]int64{"in": in, "out": out} {
			if rss > 100<<10 {
				t.Errorf("cp %s of 1 GiB: peak RSS %d KiB, want under 100 MiB", what, rss)
			}
		}
	})
}

// tree is what TestCpTree copies: directories, files and symlinks with
// their modes, owners and times.
type treeFile struct {
	path     string
	mode     fs.FileMode
	uid, gid int
	link     string
	content  string
}

var cpTree = []treeFile{
	{path: "t", mode: fs.ModeDir | 0o755, uid: 0, gid: 0},
	{path: "t/conf", mode: fs.ModeDir | 0o750, uid: 1234, gid: 5678},
	{path: "t/conf/app.conf", mode: 0o640, uid: 1234, gid: 5678, content: "key=value\n"},
	{path: "t/conf/run.sh", mode: 0o755, uid: 0, gid: 0, content: "#!/bin/sh\n"},
	{path: "t/shared", mode: fs.ModeDir | fs.ModeSticky | 0o777, uid: 0, gid: 0},
	{path: "t/shared/empty", mode: 0o600, uid: 65534, gid: 65534},
	{path: "t/rel", mode: fs.ModeSymlink | 0o777, uid: 1234, gid: 5678, link: "conf/app.conf"},
	{path: "t/abs", mode: fs.ModeSymlink | 0o777, uid: 0, gid: 0, link: "/etc/shadow"},
}

var treeTime = time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC)

func makeTree(t *testing.T, dir string) {
	t.Helper()
	for _, f := range cpTree {
		p := filepath.Join(dir, f.path)
		var err error
		switch {
		case f.mode.IsDir():
			err = os.Mkdir(p, 0o700)
		case f.link != "":
			err = os.Symlink(f.link, p)
		default:
			err = os.WriteFile(p, []byte(f.content), 0o600)
		}
		if err == nil {
			err = os.Lchown(p, f.uid, f.gid)
		}
		if err == nil && f.link == "" {
			err = os.Chmod(p, f.mode)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := len(cpTree) - 1; i >= 0; i-- {
		ts := []unix.Timespec{unix.NsecToTimespec(treeTime.UnixNano()), unix.NsecToTimespec(treeTime.UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(dir, cpTree[i].path), ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
}

// checkTree checks the copy of cpTree under dir, whose owners are shifted
// by idShift (a user namespace's, seen from the host).
func checkTree(t *testing.T, where, dir string, idShift int) {
	t.Helper()
	for _, f := range cpTree {
		p := filepath.Join(dir, f.path)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != f.mode || int(st.Uid) != f.uid+idShift || int(st.Gid) != f.gid+idShift {
			t.Errorf("%s: %s is %v %d:%d, want %v %d:%d", where, f.path, fi.Mode(), st.Uid, st.Gid, f.mode, f.uid+idShift, f.gid+idShift)
		}
		if !fi.ModTime().Equal(treeTime) {
			t.Errorf("%s: %s mtime %v, want %v", where, f.path, fi.ModTime(), treeTime)
		}
		if f.link != "" {
			if l, err := os.Readlink(p); err != nil || l != f.link {
				t.Errorf("%s: %s links to %q (%v), want %q", where, f.path, l, err, f.link)
			}
		} else if !f.mode.IsDir() {
			if b, err := os.ReadFile(p); err != nil || string(b) != f.content {
				t.Errorf("%s: %s holds %q (%v), want %q", where, f.path, b, err, f.content)
			}
		}
	}
}

func TestCpTree(t *testing.T) {
	forEachRuntime(t, defaultRuntimes, func(t *testing.T, rt containerRuntime) {
		c := rt.start(t, fmt.Sprintf("e2e-cp-tree-%d", os.Getpid()))
		copyTree(t, rt.args(), rt.ref(c.name), c.pid, 0)
	})
	// A target in a user namespace: owners are numeric as the target
	// sees them, shifted on the host's disk.
	t.Run("userns", func(t *testing.T) {
		pid := containerdPID(t, "e2e", "userns")
		t.Cleanup(func() { os.RemoveAll(inRoot(pid, "/t")) })
		copyTree(t, nil, "containerd://e2e/userns", pid, 100000)
	})
}

// copyTree copies cpTree into the target's / and back out, checking both.
func copyTree(t *testing.T, flags []string, ref string, pid, idShift int) {
	t.Helper()
	src, back := t.TempDir(), t.TempDir()
	makeTree(t, src)
	args := func(a ...string) []string { return append(append([]string{}, flags...), a...) }
	if r := run(t, args("cp", filepath.Join(src, "t"), ref+":/")...); r.code != 0 || r.stderr != "" {
		t.Fatalf("cp in: %v", r)
	}
	checkTree(t, "in the target", inRoot(pid, "/"), idShift)
	if r := run(t, args("cp", ref+":/t", back)...); r.code != 0 || r.stderr != "" {
		t.Fatalf("cp out: %v", r)
	}
	checkTree(t, "copied back", back, 0)
}

// TestCpHostile copies out of a target that planted symlinks to the
// host's files and a FIFO: the links are copied as links, or resolved in
// the target's root, and the FIFO neither blocks cp nor is opened.
func TestCpHostile(t *testing.T) {
	rt := dockerRuntime
	c := rt.start(t, fmt.Sprintf("e2e-cp-hostile-%d", os.Getpid()))
	root := inRoot(c.pid, "")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("/etc/shadow", root+"/shadow"))
	must(os.Symlink("/", root+"/up"))
	must(os.MkdirAll(root+"/d", 0o755))
	must(unix.Mkfifo(root+"/d/fifo", 0o644))
	must(os.WriteFile(root+"/d/file", []byte("x"), 0o644))
	must(os.Symlink("../../../../../../etc/shadow", root+"/d/climb"))
	host, err := os.ReadFile("/etc/shadow")
	must(err)
	dir := t.TempDir()

	// The link itself, not the host's file.
	if r := run(t, "cp", rt.ref(c.name)+":/shadow", dir+"/shadow"); r.code != 0 {
		t.Fatalf("cp of the symlink: %v", r)
	}
	if l, err := os.Readlink(dir + "/shadow"); err != nil || l != "/etc/shadow" {
		t.Errorf("cp of a symlink to /etc/shadow made %q, %v; want the link", l, err)
	}
	// Through a link to /: resolved in the target's root. busybox has
	// no /etc/shadow: the host's must not be found instead.
	r := run(t, "cp", rt.ref(c.name)+":/up/etc/shadow", dir+"/through")
	if b, err := os.ReadFile(dir + "/through"); err == nil && bytes.Equal(b, host) {
		t.Fatalf("cp through /up read the host's /etc/shadow: %v", r)
	}
	if _, err := os.Stat(inRoot(c.pid, "/etc/shadow")); os.IsNotExist(err) {
		oneLineError(t, r, 125, "no such file or directory")
	}
	// A directory with a FIFO and a link that climbs: done, the FIFO
	// skipped with a warning, the link a link.
	start := time.Now()
	r = run(t, "cp", rt.ref(c.name)+":/d", dir+"/d")
	if r.code != 0 || !strings.Contains(r.stderr, "warning: skipped") || !strings.Contains(r.stderr, "FIFO") {
		t.Errorf("cp of a directory with a FIFO: %v", r)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("cp took %v", time.Since(start))
	}
	if _, err := os.Lstat(dir + "/d/fifo"); !os.IsNotExist(err) {
		t.Errorf("the FIFO was copied: %v", err)
	}
	if l, err := os.Readlink(dir + "/d/climb"); err != nil || l != "../../../../../../etc/shadow" {
		t.Errorf("d/climb: %q, %v", l, err)
	}
	// The FIFO named directly: refused or skipped, never waited on.
	r = run(t, "cp", rt.ref(c.name)+":/d/fifo", dir+"/fifo")
	if _, err := os.Lstat(dir + "/fifo"); !os.IsNotExist(err) {
		t.Errorf("the FIFO was copied: %v\n%v", err, r)
	}
	// Into the target through its link to /: lands in its root.
	must(os.WriteFile(dir+"/in", []byte("in"), 0o644))
	if r := run(t, "cp", dir+"/in", rt.ref(c.name)+":/up/tmp/"); r.code != 0 {
		t.Fatalf("cp in through /up: %v", r)
	}
	if b, err := os.ReadFile(inRoot(c.pid, "/tmp/in")); err != nil || string(b) != "in" {
		t.Errorf("/tmp/in in the target: %q, %v", b, err)
	}
	if _, err := os.Stat("/tmp/in"); err == nil {
		t.Errorf("cp in through the target's link to / wrote the host's /tmp/in")
	}
}

// ---- port-forward

// listenIn listens on 127.0.0.1 inside the network namespace of pid, and
// answers each line with "echo: " and the line.
func listenIn(t *testing.T, pid int) int {
	t.Helper()
	type res struct {
		l   net.Listener
		err error
	}
	ch := make(chan res, 1)
	before := nsInode(t, "self", "net")
	thread.Dedicate(func() {
		// Never unlocked: the thread ends with the function.
		f, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err != nil {
			ch <- res{nil, err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- res{nil, err}
			return
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		ch <- res{l, err}
	})
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { r.l.Close() })
	// /proc/self is the main thread's view: had it joined, every later
	// test would take the target's namespace for the host's.
	if after := nsInode(t, "self", "net"); after != before {
		t.Fatalf("the test's main thread joined the target's network namespace (%d, was %d)", after, before)
	}
	go func() {
		for {
			c, err := r.l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s := bufio.NewScanner(c)
				for s.Scan() {
					fmt.Fprintf(c, "echo: %s\n", s.Text())
				}
			}()
		}
	}()
	return r.l.Addr().(*net.TCPAddr).Port
}

// forwarding is a port-forward under way.
type forwarding struct {
	cmd    *exec.Cmd
	addrs  []string // the host's addresses, in the order given
	stderr *bytes.Buffer
}

func startForward(t *testing.T, args ...string) *forwarding {
	t.Helper()
	cmd := command(append([]string{"port-forward"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	fw := &forwarding{cmd: cmd, stderr: new(bytes.Buffer)}
	cmd.Stderr = fw.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	for len(fw.addrs) < len(args)-1 {
		select {
		case l, ok := <-lines:
			var addr string
			var remote int
			if _, err := fmt.Sscanf(l, "Forwarding from %s -> %d", &addr, &remote); !ok || err != nil {
				t.Fatalf("port-forward printed %q (%v); stderr: %s", l, err, fw.stderr)
			}
			fw.addrs = append(fw.addrs, addr)
		case <-time.After(15 * time.Second):
			t.Fatalf("port-forward did not listen; stderr: %s", fw.stderr)
		}
	}
	go func() {
		for range lines {
		}
	}()
	return fw
}

// stop interrupts the forwarder and returns its exit status.
func (fw *forwarding) stop(t *testing.T) int {
	t.Helper()
	fw.cmd.Process.Signal(syscall.SIGINT)
	return fw.wait(t)
}

func (fw *forwarding) wait(t *testing.T) int {
	t.Helper()
	done := make(chan struct{})
	go func() { fw.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("port-forward did not exit")
	}
	return fw.cmd.ProcessState.ExitCode()
}

// redisPing sends PING on c and reads the answer.
func redisPing(c net.Conn) (string, error) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestPortForwardRedis(t *testing.T) {
	forEachRef(t, takas, func(t *testing.T, ref string) {
		fw := startForward(t, ref, ":6379")
		if out := sh(t, "redis-cli", "-h", "127.0.0.1", "-p", strings.Split(fw.addrs[0], ":")[1], "PING"); out != "PONG" {
			t.Errorf("redis-cli PING through the forward: %q", out)
		}
		// 50 at once, all open together, all answered.
		conns := make([]net.Conn, 50)
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := range conns {
			c, err := net.Dial("tcp", fw.addrs[0])
			if err != nil {
				t.Fatal(err)
			}
			conns[i] = c
			wg.Add(1)
			go func() {
				defer wg.Done()
				if got, err := redisPing(c); err != nil || got != "+PONG\r\n" {
					errs <- fmt.Errorf("connection %d: %q, %v", i, got, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		// SIGINT: exit 0, every connection closed, nothing listening.
		if code := fw.stop(t); code != 0 {
			t.Errorf("port-forward after SIGINT: exit %d\n%s", code, fw.stderr)
		}
		for i, c := range conns {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := c.Read(make([]byte, 1)); err == nil || os.IsTimeout(err) {
				t.Errorf("connection %d still open after port-forward exited: %d, %v", i, n, err)
			}
			c.Close()
		}
		if c, err := net.Dial("tcp", fw.addrs[0]); err == nil {
			c.Close()
			t.Errorf("%s still listens after port-forward exited", fw.addrs[0])
		}
	})
}

// TestPortForwardLoopback reaches servers bound to the container's own
// 127.0.0.1, which the host cannot reach by the container's address: in
// noshell (no tools at all) and in taka.
func TestPortForwardLoopback(t *testing.T) {
	forEachRef(t, append(append([]string{}, noshells...), takas...), func(t *testing.T, ref string) {
		port := listenIn(t, targetPID(t, ref))
		fw := startForward(t, ref, "0:"+strconv.Itoa(port), "[::1]::"+strconv.Itoa(port))
		for _, addr := range fw.addrs {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(c, "hello %s\n", addr)
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || line != "echo: hello "+addr+"\n" {
				t.Errorf("through %s: %q, %v", addr, line, err)
			}
			c.Close()
		}
		if code := fw.stop(t); code != 0 {
			t.Errorf("exit %d\n%s", code, fw.stderr)
		}
	})
}

// TestPortForwardTargetExits: when the target dies the forwarder says so
// and exits non-zero.
func TestPortForwardTargetExits(t *testing.T) {
	forEachRuntime(t, defaultRuntimes, func(t *testing.T, rt containerRuntime) {
		c := rt.start(t, fmt.Sprintf("e2e-pf-exit-%d", os.Getpid()))
		port := listenIn(t, c.pid)
		fw := startForward(t, append(rt.args(), rt.ref(c.name), ":"+strconv.Itoa(port))...)
		conn, err := net.Dial("tcp", fw.addrs[0])
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		rt.kill(t, c.name)
		code := fw.wait(t)
		lines := strings.Split(strings.TrimRight(fw.stderr.String(), "\n"), "\n")
		last := lines[len(lines)-1]
		if code != 125 || !strings.HasPrefix(last, "ctr-enter: target process is gone: ") || !strings.Contains(last, "exited") {
			t.Errorf("after the target died: exit %d, stderr:\n%s", code, fw.stderr)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err == nil || os.IsTimeout(err) {
			t.Errorf("the forwarded connection is still open: %v", err)
		}
	})
}

// TestCpPortForwardRefuseStopped: a stopped container is refused as
// every command refuses one.
// A stopped container runs nothing to forward to; its files are copied
// out of the same read-only view a session over them has (see
// stopped_test.go), and never into it.
func TestCpPortForwardStopped(t *testing.T) {
	forEachRuntime(t, allRuntimes, func(t *testing.T, rt containerRuntime) {
		before := snapshotLeftovers(t)
		c := rt.start(t, fmt.Sprintf("e2e-cp-stopped-%d", os.Getpid()))
		run(t, rt.args(rt.ref(c.name), "--", "sh", "-c", "echo crashed > /tmp/last-words")...)
		rt.kill(t, c.name)
		waitFor(t, "the container to stop", func() bool { return !targetRunning(t, rt, c.id) })
		dir := t.TempDir()
		if r := run(t, rt.args("cp", rt.ref(c.name)+":/tmp/last-words", dir)...); r.code != 0 || r.stderr != "" {
			t.Fatalf("cp out of a stopped container: %v", r)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "last-words")); string(b) != "crashed\n" {
			t.Errorf("copied %q", b)
		}
		oneLineError(t, run(t, rt.args("cp", filepath.Join(dir, "last-words"), rt.ref(c.name)+":/tmp/")...), 125, "runs nothing")
		oneLineError(t, run(t, rt.args("port-forward", rt.ref(c.name), "6379")...), 125, "container is not running")
		rt.remove(t, c.name)
		nothingLeft(t, before)
	})
	t.Run("image", func(t *testing.T) {
		dir := t.TempDir()
		if r := run(t, "cp", "image://"+registryImage+":/bin/busybox", dir); r.code != 0 {
			t.Fatalf("cp out of an image: %v", r)
		}
		if fi, err := os.Stat(filepath.Join(dir, "busybox")); err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("copied busybox: %v %v", fi, err)
		}
	})
}

// targetRunning says whether ctr-enter ls lists the container of that ID
// as running.
func targetRunning(t *testing.T, rt containerRuntime, id string) bool {
	t.Helper()
	var rows []struct{ ID, Status string }
	if err := json.Unmarshal([]byte(run(t, rt.args("ls", "--json")...).stdout), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.ID == id {
			return r.Status == "running"
		}
	}
	t.Fatalf("ls does not list %s", id)
	return false
}
