//go:build e2e

package e2e

// Debug tools that run in every target (issue 13): dynamically linked tools
// of ctr-enter's own root, of a glibc image and of a musl image, in a
// Debian-glibc target with its own /lib (taka), a musl target (musl) and a
// scratch, read-only, non-root one (distroless), on every runtime; the
// target's own programs untouched; the netshoot pattern (--net --image,
// no mount namespace joined); and ctr-enter's own image as the node
// debugger. e2e/env.sh builds the targets and the tool images.

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The tool images e2e/env.sh pushes to the registry (and tags in Docker):
// Debian's ss, tcpdump, strace, curl, dash, ls, cat... with their glibc,
// on a merged /usr; and an ss and a sh built by musl-gcc, with musl's
// loader and a library of their own (libnetfmt.so) in /usr/lib.
const (
	glibcTools = "127.0.0.1:5000/glibc-tools"
	muslTools  = "127.0.0.1:5000/musl-tools"
)

// matrixTarget is one kind of target of the matrix, a container of that
// name in each runtime.
type matrixTarget struct {
	name  string
	port  string // the TCP port it listens on
	shell bool   // it has a sh of its own
	// libs is a command of the target's own that prints the loader and
	// libraries it runs with (nil: the target has one static binary).
	libs []string
}

var matrixTargets = []matrixTarget{
	// busybox + redis-server and its Debian glibc libraries at their paths.
	{"taka", "6379", true, []string{"env", "LD_TRACE_LOADED_OBJECTS=1", "redis-server"}},
	// busybox + a musl-linked listener; /lib holds musl's loader only.
	{"musl", "7070", true, []string{"listen", "--maps"}},
	// one static binary, a read-only root, uid 65534.
	{"distroless", "8080", false, nil},
}

// toolSource is where a session's tools come from.
type toolSource struct {
	name  string
	flags []string
}

var toolSources = []toolSource{
	{"own", []string{"--tools"}},
	{"glibc-image", []string{"--image", glibcTools}},
	{"musl-image", []string{"--image", muslTools}},
}

// listening checks that ss -tln's output (Debian's or the musl image's)
// has a listening socket on port.
func listening(t *testing.T, what string, r result, port string) {
	t.Helper()
	if r.code != 0 || !regexpMatch(`(?m)^LISTEN\s+\d+\s+\d+\s+\S*:`+port+`\s`, r.stdout) {
		t.Errorf("%s: no listener on port %s:\n%v", what, port, r)
	}
}

// cacheToolImages pulls the tool images into a cache of the test's own, so
// that the sessions' output holds no pull progress.
func cacheToolImages(t *testing.T) {
	t.Helper()
	cache := t.TempDir()
	t.Setenv("CTR_ENTER_IMAGES", cache)
	for _, ref := range []string{glibcTools, muslTools} {
		if r := imagesRun(t, cache, "pull", ref); r.code != 0 {
			t.Fatalf("images pull %s: %v", ref, r)
		}
	}
}

// exec runs args in the container name as the runtime's own exec does
// (docker exec, ctr task exec), and returns its output.
func (r containerRuntime) exec(t *testing.T, name string, args ...string) string {
	t.Helper()
	if r.ctr == nil {
		return r.run(t, append([]string{"exec", name}, args...)...)
	}
	id := fmt.Sprintf("e2e-exec-%d", time.Now().UnixNano())
	return r.run(t, append([]string{"-n", "e2e", "task", "exec", "--exec-id", id, name}, args...)...)
}

// libraryPaths are the files a loader's trace (LD_TRACE_LOADED_OBJECTS) or
// a /proc/PID/maps listing names, without load addresses, each once.
func libraryPaths(out string) []string {
	addr := regexp.MustCompile(`\s*\(0x[0-9a-f]+\)$`)
	var paths []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(addr.ReplaceAllString(strings.TrimSpace(l), "")); l != "" && !slices.Contains(paths, l) {
			paths = append(paths, l)
		}
	}
	slices.Sort(paths)
	return paths
}

// TestToolsMatrix: for every target kind, runtime and tool source, a
// dynamically linked ss of the tools lists the target's port when it is
// the command, when the tools' sh runs it and when the target's own sh
// does; and the target's own dynamically linked program still runs with
// the target's loader and libraries, the same as under the runtime's exec.
func TestToolsMatrix(t *testing.T) {
	cacheToolImages(t)
	for _, tg := range matrixTargets {
		t.Run(tg.name, func(t *testing.T) {
			forEachRuntime(t, allRuntimes, func(t *testing.T, rt containerRuntime) {
				var want []string
				if tg.libs != nil {
					want = libraryPaths(rt.exec(t, tg.name, tg.libs...))
					if !slices.ContainsFunc(want, func(p string) bool { return strings.HasPrefix(p, "/lib") }) {
						t.Fatalf("%v under the runtime's exec shows no library of /lib: %q", tg.libs, want)
					}
				}
				for _, src := range toolSources {
					t.Run(src.name, func(t *testing.T) {
						session := func(cmd ...string) result {
							t.Helper()
							args := append(append([]string{rt.ref(tg.name)}, src.flags...), "--")
							return run(t, rt.args(append(args, cmd...)...)...)
						}
						listening(t, "ss as the command", session("ss", "-tln"), tg.port)
						listening(t, "the tools' sh -c ss", session(ToolsDir+"/bin/sh", "-c", "ss -tln"), tg.port)
						if tg.shell {
							listening(t, "the target's sh -c ss", session("sh", "-c", "ss -tln"), tg.port)
						}
						if tg.libs != nil {
							r := session(tg.libs...)
							if got := libraryPaths(r.stdout); r.code != 0 || !slices.Equal(got, want) {
								t.Errorf("the target's %s in the session runs with %q, under the runtime's exec with %q\n%v", tg.libs[len(tg.libs)-1], got, want, r)
							}
						}
					})
				}
			})
		})
	}
	noToolMounts(t)
}

// TestToolsSsAndStrace: the README's ss -tlnp with ctr-enter's own tools
// names taka's redis-server; strace, from ctr-enter's own tools and from the
// glibc image, traces a command, a process of the target's (-p), and
// another tool it starts by name (a tool running a tool).
func TestToolsSsAndStrace(t *testing.T) {
	cacheToolImages(t)
	forEachRuntime(t, allRuntimes, func(t *testing.T, rt containerRuntime) {
		r := run(t, rt.args(rt.taka, "--tools", "--", "ss", "-tlnp")...)
		listening(t, "ss -tlnp", r, "6379")
		if !strings.Contains(r.stdout, `users:(("redis-server"`) {
			t.Errorf("ss -tlnp does not name redis-server:\n%v", r)
		}
		for _, src := range toolSources[:2] {
			session := func(cmd ...string) result {
				t.Helper()
				return run(t, rt.args(append(append(append([]string{rt.taka}, src.flags...), "--"), cmd...)...)...)
			}
			strace := []string{"strace", "-f", "-e", "trace=none", "-o", "/dev/null"}
			if r := session(append(strace, "true")...); r.code != 0 {
				t.Errorf("%s: strace -f true: %v", src.name, r)
			}
			// -p of a process of the target's, which exits by itself.
			if r := session("sh", "-c", "sleep 1 & strace -e trace=none -o /dev/null -p $!"); r.code != 0 {
				t.Errorf("%s: strace -p: %v", src.name, r)
			}
			listening(t, src.name+": strace -f ss", session(append(strace, "ss", "-tln")...), "6379")
		}
	})
	noToolMounts(t)
}

// TestToolsNetOnlyImage: the netshoot pattern. With --net and no mount
// namespace joined, the command runs in a root made of the image's files,
// in the target's network namespace, with the target's root at /target and,
// with --pid, the target's processes in /proc; the target's mount table
// does not change and nothing is left.
func TestToolsNetOnlyImage(t *testing.T) {
	cacheToolImages(t)
	forEachRuntime(t, allRuntimes, func(t *testing.T, rt containerRuntime) {
		pid := rt.pid(t, "taka")
		before := strings.Join(mountinfo(t, pid), "\n")
		left := snapshotLeftovers(t)
		net := func(cmd ...string) result {
			t.Helper()
			return run(t, rt.args(append([]string{rt.taka, "--net", "--image", glibcTools, "--"}, cmd...)...)...)
		}
		listening(t, "--net --image glibc-tools ss", net("ss", "-tln"), "6379")
		// The image's files at /, the target's at /target.
		if r := net("ls", "/", "/target/usr/bin"); r.code != 0 || !regexpMatch(`(?m)^target$`, r.stdout) || !regexpMatch(`(?m)^redis-server$`, r.stdout) {
			t.Errorf("ls / /target/usr/bin: %v", r)
		}
		if r := net("ls", "/usr/lib64"); r.code != 0 || !strings.Contains(r.stdout, "ld-linux-x86-64.so.2") {
			t.Errorf("/ is not the image's: %v", r)
		}
		r := run(t, rt.args(rt.taka, "--net", "--pid", "--image", glibcTools, "--", "cat", "/proc/1/cmdline")...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "redis-server") {
			t.Errorf("--pid: /proc/1 is not the target's: %v", r)
		}
		// Its tcpdump (libpcap) sees the target's interfaces, as the host
		// sees them in the target's network namespace.
		r = net("tcpdump", "-D")
		for _, iface := range regexp.MustCompile(`(?m)^\d+: ([^:@ ]+)`).FindAllStringSubmatch(sh(t, "nsenter", "-t", fmt.Sprint(pid), "-n", "ip", "-o", "link"), -1) {
			if r.code != 0 || !regexpMatch(`(?m)^\d+\.`+regexp.QuoteMeta(iface[1])+`\s`, r.stdout) {
				t.Errorf("tcpdump -D does not list the target's %s: %v", iface[1], r)
			}
		}
		listening(t, "--net --image musl-tools ss", run(t, rt.args(rt.taka, "--net", "--image", muslTools, "--", "ss", "-tln")...), "6379")
		if after := strings.Join(mountinfo(t, pid), "\n"); after != before {
			t.Errorf("the target's mount table changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		nothingLeft(t, left)
	})
	noToolMounts(t)
}

// TestToolsImageAndToolsRefused: --image and --tools name two tool sets;
// one line, exit 125, nothing cached.
func TestToolsImageAndToolsRefused(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("CTR_ENTER_IMAGES", cache)
	for _, args := range [][]string{
		{"docker://taka", "--image", glibcTools, "--tools", "--", "true"},
		{"docker://taka", "--tools", "--image", glibcTools, "--", "true"},
	} {
		oneLineError(t, run(t, args...), 125, "--tools")
	}
	if l := cacheLeftovers(t, cache); len(l) != 0 {
		t.Errorf("left in the cache: %v", l)
	}
	noToolMounts(t)
}

// TestOwnImageDynamicTools: ctr-enter's own image, run as the node
// debugger, brings its dynamically linked tools into a Debian-glibc target
// and a musl target, as the command and from the target's shell.
func TestOwnImageDynamicTools(t *testing.T) {
	inImage := ownImage(t, "ctr-enter:e2e-tools")
	for _, tg := range matrixTargets[:2] {
		for _, ref := range []string{"docker://" + tg.name, "containerd://e2e/" + tg.name} {
			listening(t, ref+": the image's ss", inImage(ref, "--tools", "--", "ss", "-tln"), tg.port)
			listening(t, ref+": the image's ss from the target's sh", inImage(ref, "--tools", "--", "sh", "-c", "ss -tln"), tg.port)
			if r := inImage(ref, "--tools", "--", "tcpdump", "--version"); r.code != 0 || !strings.Contains(r.stdout+r.stderr, "tcpdump version") {
				t.Errorf("%s: tcpdump: %v", ref, r)
			}
		}
	}
}

// ownImage builds the Dockerfile's image with the binary under test, tagged
// tag and removed when the test ends, and returns a function that runs it
// as a node debugger would: host PID namespace, the runtimes' sockets, all
// privileges. --privileged itself fails on these machines (the bounding
// set lacks CAP_SYS_RESOURCE), so the test stands in for it.
func ownImage(t *testing.T, tag string) func(args ...string) result {
	t.Helper()
	dir := t.TempDir()
	sh(t, "../script/image-rootfs", bin, dir+"/rootfs")
	sh(t, "docker", "build", "-q", "-t", tag, "-f", "../Dockerfile", dir)
	t.Cleanup(func() { exec.Command("docker", "rmi", tag).Run() })
	return func(args ...string) result {
		t.Helper()
		cmd := exec.Command("docker", append([]string{"run", "--rm", "--pid=host", "--cgroupns=host",
			"--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE", "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
			"-v", "/run/containerd/containerd.sock:/run/containerd/containerd.sock",
			"-v", "/var/run/docker.sock:/var/run/docker.sock", tag}, args...)...)
		return runCmd(t, cmd)
	}
}

// readmeExamples are the command lines of the README's opening block and
// of its Debug tools section, as written (comments cut), split into words.
func readmeExamples(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	section := "opening"
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			section = h
			continue
		}
		if section != "opening" && section != "Debug tools" {
			continue
		}
		cmd, ok := strings.CutPrefix(line, "    ctr-enter ")
		if !ok {
			continue
		}
		cmd, _, _ = strings.Cut(cmd, "#")
		if strings.ContainsAny(cmd, `'"\$|&;<>`) {
			t.Fatalf("README example %q needs a shell: run it through one here", line)
		}
		out = append(out, strings.Fields(cmd))
	}
	if len(out) < 5 {
		t.Fatalf("only %d examples found in the README: has it changed shape?", len(out))
	}
	return out
}

// TestReadmeExamplesRunAsWritten runs the README's opening examples and those of
// its Debug tools section as written, in the README's own environment
// (e2e/env.sh demo: taka and noshell are Docker's, so containerd is out of
// sight here). Each must succeed; one with no command is an interactive
// shell (TestShellWithToolsInNoShellTarget and the tty tests have those).
func TestReadmeExamplesRunAsWritten(t *testing.T) {
	t.Setenv("CTR_ENTER_IMAGES", t.TempDir())
	t.Setenv("CONTAINERD_ADDRESS", "/nonexistent")
	ran := 0
	for _, ex := range readmeExamples(t) {
		if len(ex) == 1 {
			continue
		}
		// A capture runs until interrupted (TestToolsNetOnlyImage runs the
		// image's tcpdump in the target's network namespace).
		if i := slices.Index(ex, "tcpdump"); i >= 0 && !slices.Contains(ex[i:], "-c") {
			t.Logf("not run, it captures until interrupted: %q", ex)
			continue
		}
		ran++
		if r := run(t, ex...); r.code != 0 || r.stdout == "" {
			t.Errorf("ctr-enter %s: %v", strings.Join(ex, " "), r)
		}
	}
	t.Logf("%d examples run", ran)
}

// TestToolsIgnoreTargetPreload: the session's environment is the target's,
// and its LD_PRELOAD names the target's files; the tools' loader must not
// load them into a tool (which holds ctr-enter's privileges). The target's
// own programs still get it.
func TestToolsIgnoreTargetPreload(t *testing.T) {
	startDocker(t, "e2e-preload", "-e", "LD_PRELOAD=/tmp/planted.so", "ctr-enter-test/redis", "sleep", "1000000")
	r := run(t, "docker://e2e-preload", "--tools", "--", "ss", "-V")
	if r.code != 0 || !strings.Contains(r.stdout, "iproute2") || r.stderr != "" {
		t.Errorf("ss -V with the target's LD_PRELOAD: %v", r)
	}
	if r := run(t, "docker://e2e-preload", "--tools", "--", "sh", "-c", "echo $LD_PRELOAD"); r.code != 0 || strings.TrimSpace(r.stdout) != "/tmp/planted.so" {
		t.Errorf("the target's shell lost its LD_PRELOAD: %v", r)
	}
	noToolMounts(t)
}
