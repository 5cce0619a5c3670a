//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestStoppedPodAttempt: a Kubernetes container's exited attempt (shop/cache
// redis, attempt 0, kept by CRI beside the running attempt 1) is a target
// of its own, by its containerd ID: a session over its files, with its
// config's environment and the pod's files that CRI binds into it (the
// sandbox's /etc/hostname), and inspect shows it stopped, with its pod.
func TestStoppedPodAttempt(t *testing.T) {
	exited := podRow(t, "shop/cache/redis", "exited")
	if exited.Pod.Attempt != 0 {
		t.Fatalf("the exited attempt of shop/cache/redis is %d, want 0", exited.Pod.Attempt)
	}
	ref := "containerd://k8s.io/" + exited.ID
	in := func(args ...string) result { return onPods(t, append([]string{ref, "--"}, args...)...) }
	before := snapshotLeftovers(t)

	// The image's file, from the attempt's snapshot.
	if r := in("ls", "/usr/bin/redis-server"); r.code != 0 {
		t.Errorf("the image's files:\n%v", r)
	}
	if r := in("env"); r.code != 0 || !strings.Contains(r.stdout, "REDIS_TEST_VAR=from-image\n") || !strings.Contains(r.stdout, "KUBERNETES_SERVICE_HOST=") {
		t.Errorf("env is not the attempt's config's:\n%v", r)
	}
	// /etc/hostname is the sandbox's file, bound by CRI (a spec mount):
	// empty in the container's own layer.
	if r := in("cat", "/etc/hostname"); r.code != 0 || r.stdout != "cache\n" {
		t.Errorf("cat /etc/hostname:\n%v", r)
	}
	// The pod's hostname (the spec has none: it shares the sandbox's
	// uts namespace).
	if r := in("hostname"); r.code != 0 || r.stdout != "cache\n" {
		t.Errorf("hostname:\n%v", r)
	}
	// Read-only, the bound files too.
	if r := in("sh", "-c", "echo x > /etc/hostname"); r.code == 0 || !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("a write to a bound file without --write:\n%v", r)
	}
	// Its processes are not those of the running attempt.
	if r := in("ps", "-o", "pid,comm"); r.code != 0 || strings.Contains(r.stdout, "redis") {
		t.Errorf("ps shows more than the session:\n%v", r)
	}

	report := inspectPod(t, ref)
	if report["status"] != "exited" || report["id"] != exited.ID {
		t.Errorf("inspect: status %v, id %v", report["status"], report["id"])
	}
	if err := schema(t, "#/$defs/stopped").Validate(report); err != nil {
		t.Errorf("not a stopped report: %v", err)
	}
	pod := report["pod"].(map[string]any)
	if pod["namespace"] != "shop" || pod["name"] != "cache" || pod["container"] != "redis" || fmt.Sprint(pod["attempt"]) != "0" {
		t.Errorf("inspect: pod %v", pod)
	}
	if r := onPods(t, "inspect", ref); r.code != 0 || !strings.Contains(r.stdout, "pod         shop/cache") || !strings.Contains(r.stdout, "no process, so no pid") {
		t.Errorf("inspect:\n%v", r)
	}
	nothingLeft(t, before)
}

// TestStoppedVolumes: a stopped container's volumes and binds are in the
// session at their destinations, read-only; with --write those the
// container has writable are writable, and what is written there is on
// the host's side of the volume; a read-only one stays read-only.
func TestStoppedVolumes(t *testing.T) {
	forEachRuntime(t, allRuntimes, func(t *testing.T, rt containerRuntime) {
		name := "e2e-volumes-" + rt.name
		rw, ro := t.TempDir(), t.TempDir()
		if err := os.WriteFile(filepath.Join(ro, "g"), []byte("host\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		script := `echo x > /data/f; exit 1`
		var cmd *exec.Cmd
		// data is where the container's writes to /data land on the host.
		data := rw
		if rt.ctr == nil {
			vol := name
			exec.Command("docker", "rm", "-f", name).Run()
			exec.Command("docker", "volume", "rm", "-f", vol).Run()
			cmd = exec.Command("docker", "run", "--name", name, "-v", vol+":/data", "-v", ro+":/ro:ro", "--tmpfs", "/scratch",
				"ctr-enter-test/busybox", "sh", "-c", script)
			t.Cleanup(func() { exec.Command("docker", "volume", "rm", "-f", vol).Run() })
		} else {
			cmd = exec.Command(rt.ctr[0], append(append([]string{}, rt.ctr[1:]...), "-n", "e2e", "run",
				"--mount", "type=bind,src="+rw+",dst=/data,options=rbind:rw",
				"--mount", "type=bind,src="+ro+",dst=/ro,options=rbind:ro",
				"--mount", "type=tmpfs,src=tmpfs,dst=/scratch,options=size=1m",
				"docker.io/ctr-enter-test/busybox:latest", name, "sh", "-c", script)...)
		}
		t.Cleanup(func() { rt.remove(t, name) })
		if out, err := cmd.CombinedOutput(); err == nil || cmd.ProcessState.ExitCode() != 1 {
			t.Fatalf("%v: %v, want exit 1\n%s", cmd.Args, err, out)
		}
		if rt.ctr == nil {
			data = strings.TrimSpace(sh(t, "docker", "volume", "inspect", "-f", "{{.Mountpoint}}", name))
		}
		ref := rt.ref(name)
		before := snapshotLeftovers(t)
		in := func(flags []string, args ...string) result {
			return run(t, rt.args(append(append([]string{ref}, flags...), append([]string{"--"}, args...)...)...)...)
		}
		if r := in(nil, "cat", "/data/f", "/ro/g"); r.code != 0 || r.stdout != "x\nhost\n" || r.stderr != "" {
			t.Errorf("the volumes' files:\n%v", r)
		}
		// An empty tmpfs where the container has one.
		if r := in(nil, "sh", "-c", "grep ' /scratch ' /proc/mounts; ls -A /scratch"); r.code != 0 || !regexpMatch(`^\S+ /scratch tmpfs ro,`, r.stdout) {
			t.Errorf("/scratch:\n%v", r)
		}
		// Read-only without --write, even the volume the container writes.
		if r := in(nil, "sh", "-c", "echo y > /data/f"); r.code == 0 || !strings.Contains(r.stderr, "Read-only file system") {
			t.Errorf("a write to a volume without --write:\n%v", r)
		}
		// With --write: its writable volume is, its read-only bind is not.
		if r := in([]string{"--write"}, "sh", "-c", "echo y > /data/f"); r.code != 0 {
			t.Errorf("--write to a writable volume:\n%v", r)
		}
		if b, err := os.ReadFile(filepath.Join(data, "f")); err != nil || string(b) != "y\n" {
			t.Errorf("the volume on the host after --write: %q, %v", b, err)
		}
		if r := in([]string{"--write"}, "sh", "-c", "echo y > /ro/g"); r.code == 0 || !strings.Contains(r.stderr, "Read-only file system") {
			t.Errorf("--write to a read-only bind:\n%v", r)
		}
		if b, _ := os.ReadFile(filepath.Join(ro, "g")); string(b) != "host\n" {
			t.Errorf("the read-only bind's file changed: %q", b)
		}
		nothingLeft(t, before)
	})
}

// configuredImage is an image of one static busybox whose config sets a
// variable, PATH, a working directory and a user, made with docker import
// (no build, no container) and copied into containerd's namespace e2e
// (content only: no snapshot); both removed when the test ends.
func configuredImage(t *testing.T) string {
	t.Helper()
	const ref = "ctr-enter-test/configured:e2e"
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("a static busybox for the image: %v", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body []byte) {
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	for _, d := range []string{"bin/", "etc/", "srv/", "srv/app/", "opt/", "opt/tools/", "opt/tools/bin/", "tmp/"} {
		add(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	}
	add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755}, bb)
	for _, l := range []string{"sh", "env", "pwd", "id", "cat"} {
		add(&tar.Header{Name: "bin/" + l, Typeflag: tar.TypeSymlink, Linkname: "busybox"}, nil)
	}
	add(&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234:app:/srv/app:/bin/sh\n"))
	add(&tar.Header{Name: "etc/group", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("root:x:0:\napp:x:1234:\n"))
	tw.Close()
	imp := exec.Command("docker", "import", "-c", "ENV APP_IMAGE_VAR=from-config", "-c", "ENV PATH=/opt/tools/bin:/bin",
		"-c", "WORKDIR /srv/app", "-c", "USER app", "-", ref)
	imp.Stdin = &buf
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() })
	save := exec.Command("docker", "save", ref)
	load := exec.Command("ctr", "-n", "e2e", "images", "import", "--no-unpack", "-")
	load.Stdin, _ = save.StdoutPipe()
	if err := save.Start(); err != nil {
		t.Fatal(err)
	}
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("ctr images import: %v\n%s", err, out)
	}
	save.Wait()
	t.Cleanup(func() { exec.Command("ctr", "-n", "e2e", "images", "rm", "docker.io/"+ref).Run() })
	return ref
}

// TestImageConfig: a session over an image has its config's environment
// (PATH included), working directory, and with --as-target its user, as a
// container of it would: from Docker, from containerd, and from the cache
// once taken.
func TestImageConfig(t *testing.T) {
	ref := configuredImage(t)
	before := snapshotLeftovers(t)
	for _, from := range []string{"docker", "containerd"} {
		t.Run(from, func(t *testing.T) {
			root := t.TempDir()
			if r := imagesRun(t, root, "pull", "--from", from, ref); r.code != 0 {
				t.Fatalf("pull:\n%v", r)
			}
			in := func(args ...string) result {
				cmd := command(append([]string{"image://" + ref}, args...)...)
				cmd.Env = append(cmd.Env, "CTR_ENTER_IMAGES="+root)
				return runCmd(t, cmd)
			}
			r := in("--", "sh", "-c", `pwd; echo "$APP_IMAGE_VAR"; echo "$PATH"; id -u`)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "/srv/app\nfrom-config\n/opt/tools/bin:/bin") || !strings.HasSuffix(r.stdout, "\n0\n") {
				t.Errorf("the image's config in the session:\n%v", r)
			}
			if r := in("--as-target", "--", "id"); r.code != 0 || !strings.HasPrefix(r.stdout, "uid=1234(app) gid=1234(app)") {
				t.Errorf("--as-target is not the image's user:\n%v", r)
			}
			// -w still wins over the config's.
			if r := in("-w", "/tmp", "--", "pwd"); r.code != 0 || r.stdout != "/tmp\n" {
				t.Errorf("-w:\n%v", r)
			}
		})
	}
	nothingLeft(t, before)
}

// tryStart is the runtime's own start of the stopped container name,
// attached, which may fail: its output and whether it started.
func tryStart(t *testing.T, rt containerRuntime, name string) (string, bool) {
	t.Helper()
	var cmd *exec.Cmd
	if rt.ctr == nil {
		cmd = exec.Command("docker", "start", "-a", name)
	} else {
		ctr := func(args ...string) *exec.Cmd {
			return exec.Command(rt.ctr[0], append(append(append([]string{}, rt.ctr[1:]...), "-n", "e2e"), args...)...)
		}
		ctr("task", "rm", name).Run()
		cmd = ctr("task", "start", name)
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err == nil
}

// TestStoppedWriteHold: while a --write session holds a stopped
// container's writable layer, its runtime's own start fails, with the
// runtime's error, and the session goes on; after the session, and after
// a session killed with SIGKILL and ctr-enter gc, the container starts,
// with the session's changes.
func TestStoppedWriteHold(t *testing.T) {
	forEachRuntime(t, allRuntimes, func(t *testing.T, rt containerRuntime) {
		name := "e2e-held-" + rt.name
		createCrashed(t, rt, name)
		ref := rt.ref(name)
		before := snapshotLeftovers(t)

		session := startRun(t, command(rt.args(ref, "--write", "--", "sh", "-c", "echo fixed > /etc/app.conf; exec sleep 1000")...))
		waitSleeping(t, session)
		out, ok := tryStart(t, rt, name)
		if ok || !strings.Contains(out, "no such file or directory") {
			t.Errorf("the runtime's start during a --write session: started %v:\n%s", ok, out)
		}
		t.Logf("the runtime says: %s", out)
		// The session goes on; a second one is refused, saying why.
		if st, ok := readStat(session.cmd.Process.Pid); !ok || st.state == 'Z' {
			t.Errorf("the session ended when the runtime tried to start the container")
		}
		oneLineError(t, run(t, rt.args(ref, "--", "true")...), 125, "held by a --write session")

		// Killed: the layer stays held (the runtime still cannot start
		// the container) until gc gives it back.
		all := descendants(session.cmd.Process.Pid)
		session.cmd.Process.Signal(syscall.SIGKILL)
		session.cmd.Wait()
		waitFor(t, "the session's processes to go", func() bool {
			for _, d := range all {
				if st, ok := readStat(d); ok && st.state != 'Z' {
					return false
				}
			}
			return true
		})
		if out, ok := tryStart(t, rt, name); ok {
			t.Errorf("the runtime started the container of a killed --write session before gc:\n%s", out)
		}
		if r := run(t, rt.args("gc")...); r.code != 0 || !strings.Contains(r.stdout, "writable layer of "+ref+" given back") {
			t.Errorf("gc:\n%v", r)
		}
		if out := startAgain(t, rt, name); out != "fixed" {
			t.Errorf("the start after a killed --write session and gc printed %q, want fixed", out)
		}

		// A session that ends gives the layer back itself.
		if r := run(t, rt.args(ref, "--write", "--", "sh", "-c", "echo again > /etc/app.conf")...); r.code != 0 {
			t.Errorf("--write:\n%v", r)
		}
		if out := startAgain(t, rt, name); out != "again" {
			t.Errorf("the start after a --write session printed %q, want again", out)
		}
		nothingLeft(t, before)
	})
}
