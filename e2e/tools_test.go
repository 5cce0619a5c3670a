//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// targetCannotWrite has the Docker container name try write (a shell
// line, %s for the path) on each of paths, a session's files as the target
// reaches them: each try must fail, for a read-only file system.
func targetCannotWrite(t *testing.T, name, write string, paths ...string) {
	t.Helper()
	for _, path := range paths {
		out, _ := exec.Command("docker", "exec", name, "sh", "-c", fmt.Sprintf(write+" && echo WRITABLE", path)).CombinedOutput()
		if r := string(out); strings.Contains(r, "WRITABLE") || !strings.Contains(r, "Read-only file system") {
			t.Errorf("writing %s from the target: %s", path, r)
		}
	}
}

// treeDigests is one digest of every file, link and mode in a tree.
func treeDigests(t *testing.T, root string) string {
	t.Helper()
	return sh(t, "sh", "-c", `cd "$1" && find . -printf '%p %m %l\n' -type f -exec sha256sum {} + | sort | sha256sum`, "-", root)
}

// stopRegistry stops the test registry until the test ends.
func stopRegistry(t *testing.T) {
	t.Helper()
	sh(t, "../e2e/env.sh", "registry", "stop")
	t.Cleanup(func() { sh(t, "../e2e/env.sh", "registry", "start") })
	// Polled, not dialled once: one CI run found it listening right after
	// env.sh had seen its process end, on a loaded machine.
	waitFor(t, "the registry to stop listening", func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:5000", time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
}

// TestShellWithToolsInNoShellTarget: the targets are one static binary
// with a read-only root and nothing else. A shell comes from ctr-enter's
// own tools, sees the target's files, processes and interfaces, and the
// target's own mount table does not change.
func TestShellWithToolsInNoShellTarget(t *testing.T) {
	forEachRef(t, noshells, func(t *testing.T, ref string) {
		pid := targetPID(t, ref)
		mounts := func() string { return strings.Join(mountinfo(t, pid), "\n") }
		before := mounts()
		// The target's interfaces, from the host.
		ifaces := regexp.MustCompile(`(?m)^\d+: ([^:@ ]+)`).FindAllStringSubmatch(sh(t, "nsenter", "-t", fmt.Sprint(pid), "-n", "ip", "-o", "link"), -1)
		if len(ifaces) == 0 {
			t.Fatal("no interfaces in the target")
		}

		o := startOperator(t, ref)
		m := o.expect(0, `[#$] $`)
		o.send("ls /; echo LS-DONE\n")
		m = o.expect(m, `(?s)pause.*LS-DONE`)
		o.send("ps -e -o pid,args\n")
		m = o.expect(m, `(?m)^\s*1\s+/pause`)
		o.send("ip -o link; echo IP-$((1+1))-DONE\n")
		end := o.expect(m, `IP-2-DONE\r\n`)
		for _, iface := range ifaces {
			if !strings.Contains(o.output()[m:end], ": "+iface[1]) {
				t.Errorf("interface %s not seen in the session: %q", iface[1], o.output()[m:end])
			}
		}
		m = end
		o.send("exit 7\n")
		if code := o.wait(); code != 7 {
			t.Errorf("exit status %d, want 7", code)
		}
		if after := mounts(); after != before {
			t.Errorf("the target's mount table changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		noToolMounts(t)
	})
}

// TestToolsAreReadOnlyToTheTarget: a target with CAP_SYS_PTRACE reaches a
// session's files through /proc/PID/root and /proc/PID/exe. Opening a tool
// for writing from there must fail, the target's root being uid 0 on the
// host.
func TestToolsAreReadOnlyToTheTarget(t *testing.T) {
	startDocker(t, "e2e-tools-ptrace", "--cap-add", "SYS_PTRACE", "--security-opt", "apparmor=unconfined",
		"ctr-enter-test/busybox", "sleep", "1000000")
	tool, err := filepath.EvalSymlinks("/usr/bin/env")
	if err != nil {
		t.Fatal(err)
	}
	before := digest(t, tool)
	session := command("docker://e2e-tools-ptrace", "--trust-target", "--tools", "--", ToolsDir+"/bin/sleep", "1000")
	spid := innerPID(t, startPayload(t, session))
	// ": >>" opens for appending and writes nothing: if it succeeds, the
	// host's file was writable, and is still unchanged.
	// The tool, ctr-enter itself (the launcher: a hard link of the
	// host's binary where the cache shares its filesystem), and the
	// process's executable (the tools' loader).
	targetCannotWrite(t, "e2e-tools-ptrace", ": >> %s",
		fmt.Sprintf("/proc/%d/root%s/root/usr/bin/env", spid, ToolsDir),
		fmt.Sprintf("/proc/%d/root%s/ctr-enter", spid, ToolsDir),
		fmt.Sprintf("/proc/%d/exe", spid))
	if after := digest(t, tool); after != before {
		t.Errorf("%s changed", tool)
	}
	session.Process.Signal(syscall.SIGTERM)
	session.Wait()
	noToolMounts(t)
}

// TestToolsWithNonRootTarget: a target running as uid 1000 with a read-only
// root and no shell: the tools work as the target's user too. And a target
// in a user namespace.
func TestToolsWithNonRootTarget(t *testing.T) {
	startDocker(t, "e2e-nonroot", "--user", "1000:1000", "--read-only", "ctr-enter-test/noshell")
	if r := run(t, "docker://e2e-nonroot", "--as-target", "--tools", "--", "id", "-u"); r.code != 0 || strings.TrimSpace(r.stdout) != "1000" {
		t.Errorf("id -u as the target: %v", r)
	}
	if r := run(t, "docker://e2e-nonroot", "--tools", "--", "cat", "/proc/1/status"); r.code != 0 || !regexpMatch(`(?m)^Uid:\s+1000\s`, r.stdout) {
		t.Errorf("the target's status: %v", r)
	}
	// In a user namespace of its own, the session's mount namespace is
	// owned by it; the tools mount there too, dynamically linked ones
	// included (the target has no /lib64: the tools' loader is found).
	if r := run(t, "containerd://e2e/userns", "--tools", "--", ToolsDir+"/bin/id", "-u"); r.code != 0 || strings.TrimSpace(r.stdout) != "0" {
		t.Errorf("tools in a user namespace: %v", r)
	}
	noToolMounts(t)
}

// TestToolsFromImage: an image's tools in a session, pulled from the
// registry on first use with a progress bar on the operator's terminal,
// then cached (the registry stopped); an image imported from a tarball;
// tool files the target cannot write; and images rm leaves nothing.
func TestToolsFromImage(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("CTR_ENTER_IMAGES", cache)
	const ref = registryImage
	// Only the registry has it: env.sh pushed it through Docker, whose tag
	// would otherwise be found first.
	sh(t, "docker", "rmi", ref)
	t.Cleanup(func() { sh(t, "docker", "tag", "ctr-enter-test/busybox:latest", ref) })

	o := startOperator(t, "docker://taka", "--image", ref, "--", "sh", "-c", "ls /; ls /.ctr-enter/bin/busybox")
	m := o.expect(0, `pulling 127\.0\.0\.1:5000/busybox:latest from registry`)
	m = o.expect(m, `\r\x1b\[K\[=+ *\] [0-9.]+ (B|KiB|MiB) / [0-9.]+ (KiB|MiB)`)
	// taka's own root (its redis libraries' /lib64 is not the image's).
	m = o.expect(m, `(?s)lib64.*/\.ctr-enter/bin/busybox`)
	if code := o.wait(); code != 0 {
		t.Fatalf("first use: exit %d\n%s", code, o.output())
	}
	imgs := imagesLs(t, cache)
	if len(imgs) != 1 || imgs[0].Ref != ref+":latest" || imgs[0].Source != "registry" || imgs[0].Digest != registryDigest(t, "busybox", "latest") {
		t.Fatalf("images ls: %+v", imgs)
	}
	tree := imgs[0].RootFS

	// Cached: no registry needed.
	stopRegistry(t)
	if r := run(t, "docker://taka", "--image", ref, "--", "/.ctr-enter/bin/busybox", "true"); r.code != 0 || r.stderr != "" {
		t.Errorf("cached, with the registry stopped: %v", r)
	}

	// An image imported from a tarball, with no registry at all.
	archive := filepath.Join(t.TempDir(), "tools.tar")
	sh(t, "docker", "save", "-o", archive, "ctr-enter-test/busybox:latest")
	if r := imagesRun(t, cache, "import", archive, "--name", "tarball/tools:1"); r.code != 0 {
		t.Fatalf("import: %v", r)
	}
	for _, ref := range noshells {
		if r := run(t, ref, "--image", "tarball/tools:1", "--", "sh", "-c", "ls /; ps"); r.code != 0 || !regexpMatch(`(?m)^pause$`, r.stdout) || !regexpMatch(`(?m)^\s*1 .*/pause`, r.stdout) {
			t.Errorf("%s with the imported image: %v", ref, r)
		}
	}

	// A target with CAP_SYS_PTRACE reaches the session's files through
	// /proc/PID/root and /proc/PID/exe: it cannot open them for writing.
	before := treeDigests(t, tree)
	startDocker(t, "e2e-image-ptrace", "--cap-add", "SYS_PTRACE", "--security-opt", "apparmor=unconfined",
		"ctr-enter-test/busybox", "sleep", "1000000")
	session := command("docker://e2e-image-ptrace", "--trust-target", "--image", ref, "--", ToolsDir+"/bin/sleep", "1000")
	spid := innerPID(t, startPayload(t, session))
	targetCannotWrite(t, "e2e-image-ptrace", "echo pwned >> %s",
		fmt.Sprintf("/proc/%d/root%s/root/bin/busybox", spid, ToolsDir),
		fmt.Sprintf("/proc/%d/root%s/root/etc/passwd", spid, ToolsDir),
		fmt.Sprintf("/proc/%d/root%s/ctr-enter", spid, ToolsDir),
		fmt.Sprintf("/proc/%d/exe", spid))
	session.Process.Signal(syscall.SIGTERM)
	session.Wait()
	if after := treeDigests(t, tree); after != before {
		t.Errorf("the image's files changed")
	}
	noToolMounts(t)

	// images rm removes both completely.
	for _, ref := range []string{ref, "tarball/tools:1"} {
		if r := imagesRun(t, cache, "rm", ref); r.code != 0 {
			t.Errorf("images rm %s: %v", ref, r)
		}
	}
	if l := cacheLeftovers(t, cache); len(l) != 0 || len(imagesLs(t, cache)) != 0 {
		t.Errorf("left in the cache after rm: %v", l)
	}
}

// TestToolsBadInput: one line, exit 125, nothing cached and nothing mounted.
func TestToolsBadInput(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("CTR_ENTER_IMAGES", cache)
	oneLineError(t, run(t, "docker://taka", "--tools", "--image", "busybox", "--", "true"), 125, "--image and --tools exclude each other")
	oneLineError(t, run(t, "docker://taka", "--image", "127.0.0.1:5000/nothere", "--", "true"), 125, "no such image")
	oneLineError(t, run(t, "docker://taka", "--image", "Not A Ref", "--", "true"), 125, "invalid image reference")
	if l := cacheLeftovers(t, cache); len(l) != 0 {
		t.Errorf("left in the cache: %v", l)
	}
	noToolMounts(t)
}
