//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Issue 14: Kubernetes pods on a node, made through CRI as a kubelet makes
// them by e2e/env.sh (a containerd 2.x with its CRI plugin): shop/web
// (redis and sleeper, one PID namespace, default container redis),
// default/web (redis, PID 1 in its own namespace) and shop/cache (redis,
// attempt 0 exited and kept, attempt 1 running).

// criSock is where e2e/env.sh runs the CRI containerd.
const criSock = "/run/ctr-enter-e2e/cri/containerd.sock"

func e2eState() string {
	if s := os.Getenv("CTR_ENTER_E2E_STATE"); s != "" {
		return s
	}
	return "/var/tmp/ctr-enter-e2e"
}

// crictl runs crictl against the CRI containerd and returns its output.
func crictl(t *testing.T, args ...string) string {
	t.Helper()
	dir := e2eState() + "/cri"
	return sh(t, dir+"/bin/crictl", append([]string{"--config", dir + "/crictl.yaml"}, args...)...)
}

// ctrCRI is the CRI containerd's ctr.
func ctrCRI() []string {
	return []string{e2eState() + "/containerd2/bin/ctr", "--address", criSock}
}

// podRuntime is the CRI containerd, for the cases run on every runtime:
// its "taka" is a pod's container.
var podRuntime = containerRuntime{name: "pod", taka: "shop/web/redis", flags: []string{"--containerd-address", criSock}, ctr: ctrCRI()}

// onPods runs ctr-enter against the CRI containerd (and Docker, as on a
// node that has both).
func onPods(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, append([]string{"--containerd-address", criSock}, args...)...)
}

func mustRun(t *testing.T, r result) string {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	return r.stdout
}

func TestPodNames(t *testing.T) {
	t.Run("shared pid namespace", func(t *testing.T) {
		out := mustRun(t, onPods(t, "shop/web/redis", "--net", "--pid", "--", "ps", "aux"))
		for _, want := range []string{`(?m)^\S+\s+1\s.*/pause$`, `redis-server`, `sleep 1000000`} {
			if !regexpMatch(want, out) {
				t.Errorf("ps aux in shop/web lacks %s:\n%s", want, out)
			}
		}
	})
	t.Run("own pid namespace", func(t *testing.T) {
		out := mustRun(t, onPods(t, "default/web/redis", "--net", "--pid", "--", "ps", "aux"))
		if !regexpMatch(`(?m)^\S+\s+1\s.*redis-server`, out) || strings.Contains(out, "pause") {
			t.Errorf("redis-server is not PID 1 in default/web:\n%s", out)
		}
	})
	t.Run("same pod name in two namespaces", func(t *testing.T) {
		ambiguous(t, onPods(t, "web/redis", "--", "true"), "web/redis matches 2 targets", "shop/web/redis", "default/web/redis")
	})
	t.Run("restarted container", func(t *testing.T) {
		if out := mustRun(t, onPods(t, "shop/cache/redis", "--", "hostname")); out != "cache\n" {
			t.Errorf("hostname = %q", out)
		}
		running := podRow(t, "shop/cache/redis", "running")
		if running.Pod.Attempt != 1 || podRow(t, "shop/cache/redis", "exited").Pod.Attempt != 0 {
			t.Errorf("attempts: running %+v", running.Pod)
		}
		report := inspectPod(t, "shop/cache/redis")
		if report["id"] != running.ID {
			t.Errorf("shop/cache/redis resolved to %v, not the running attempt %s", report["id"], running.ID)
		}
	})
	t.Run("pod is its default container", func(t *testing.T) {
		if out := mustRun(t, onPods(t, "shop/web", "--", "hostname")); out != "web\n" {
			t.Errorf("hostname = %q", out)
		}
		if r := inspectPod(t, "shop/web"); r["name"] != "shop/web/redis" {
			t.Errorf("shop/web is %v, want its default container shop/web/redis", r["name"])
		}
		// default/web has one container: the default.
		if r := inspectPod(t, "default/web"); r["name"] != "default/web/redis" {
			t.Errorf("default/web is %v", r["name"])
		}
	})
	t.Run("sandbox", func(t *testing.T) {
		out := mustRun(t, onPods(t, "shop/web", "--sandbox", "--pid", "--", "cat", "/proc/1/cmdline"))
		if out != "/pause\x00" {
			t.Errorf("--sandbox: PID 1 is %q", out)
		}
		// By its whole ID, a container is got alone, with its sandbox
		// (no listing): the pod is still known.
		ref := "containerd://k8s.io/" + podRow(t, "shop/web/redis", "running").ID
		if out := mustRun(t, onPods(t, ref, "--sandbox", "--pid", "--", "cat", "/proc/1/cmdline")); out != "/pause\x00" {
			t.Errorf("%s --sandbox: PID 1 is %q", ref, out)
		}
		if out := mustRun(t, onPods(t, ref, "--", "hostname")); out != "web\n" {
			t.Errorf("%s: hostname %q", ref, out)
		}
		r := inspectPod(t, "default/web/redis")
		var sandbox bool
		for _, ns := range r["namespaces"].([]any) {
			if m := ns.(map[string]any); m["kind"] == "net" {
				sandbox = slices.Contains(m["shared_with_names"].([]any), any("default/web (sandbox)"))
			}
		}
		if !sandbox {
			t.Errorf("inspect does not show the net namespace shared with default/web (sandbox): %v", r["namespaces"])
		}
	})
}

// lsRow is a row of ls --json, as far as these tests read it.
type lsRow struct {
	ID, Name, Status string
	Pod              *struct {
		Namespace, Name, Container string
		Attempt                    int
		Sandbox                    bool
	}
}

func lsRows(t *testing.T, args ...string) []lsRow {
	t.Helper()
	out := mustRun(t, onPods(t, append([]string{"ls", "--json"}, args...)...))
	var rows []lsRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("ls --json: %v\n%s", err, out)
	}
	return rows
}

// podRow is the one ls row named name with that status.
func podRow(t *testing.T, name, status string) lsRow {
	t.Helper()
	var found []lsRow
	for _, r := range lsRows(t) {
		if r.Name == name && r.Status == status {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("ls has %d rows %s %s, want 1", len(found), name, status)
	}
	return found[0]
}

// inspectPod is inspect --json of a pod's container, checked against the
// schema and for its pod fields.
func inspectPod(t *testing.T, ref string) map[string]any {
	t.Helper()
	out := mustRun(t, onPods(t, "inspect", "--json", ref))
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatalf("inspect --json: %v", err)
	}
	if err := schema(t, "").Validate(doc); err != nil {
		t.Fatalf("inspect --json %s does not follow the schema: %v", ref, err)
	}
	r := doc.(map[string]any)
	pod, ok := r["pod"].(map[string]any)
	if !ok {
		t.Fatalf("inspect %s: no pod:\n%s", ref, out)
	}
	if pod["uid"] == "" || pod["qos_class"] == "" || !strings.HasPrefix(pod["cgroup"].(string), "/kubepods/") ||
		pod["labels"].(map[string]any)["io.kubernetes.pod.uid"] != pod["uid"] {
		t.Errorf("inspect %s: pod fields: %v", ref, pod)
	}
	return r
}

func TestPodLs(t *testing.T) {
	rows := lsRows(t)
	seen := map[string]int{}
	for _, r := range rows {
		if r.Pod == nil {
			continue
		}
		if r.Pod.Sandbox {
			t.Errorf("ls shows a sandbox without --all: %+v", r)
		}
		seen[r.Name+" "+r.Status]++
	}
	want := map[string]int{
		"shop/web/redis running": 1, "shop/web/sleeper running": 1, "default/web/redis running": 1,
		"shop/cache/redis running": 1, "shop/cache/redis exited": 1,
	}
	for k, n := range want {
		if seen[k] != n {
			t.Errorf("ls: %d rows %q, want %d (all: %v)", seen[k], k, n, seen)
		}
	}
	text := mustRun(t, onPods(t, "ls"))
	if !regexpMatch(`shop/cache/redis .*exited \(attempt 0\)`, text) || regexpMatch(`k8s.io\s+\S+\s+[0-9a-f]{64}\s`, text) {
		t.Errorf("ls text:\n%s", text)
	}
	if !regexpMatch(`ipc\+net\+pid\+uts:shop/web \(sandbox\)`, text) {
		t.Errorf("ls SHARES does not name the sandbox:\n%s", text)
	}
	sandboxes := 0
	for _, r := range lsRows(t, "--all") {
		if r.Pod != nil && r.Pod.Sandbox {
			sandboxes++
		}
	}
	if sandboxes < 3 {
		t.Errorf("ls --all shows %d sandboxes, want the 3 pods'", sandboxes)
	}

	out := mustRun(t, onPods(t, "ls", "--pods", "--json"))
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var pods []map[string]any
	json.Unmarshal([]byte(out), &pods)
	for i, p := range doc.([]any) {
		if err := schema(t, "#/$defs/pod_row").Validate(p); err != nil {
			t.Errorf("ls --pods --json row %d does not follow the schema: %v", i, err)
		}
	}
	byName := map[string]string{}
	for _, p := range pods {
		var cs []string
		for _, c := range p["containers"].([]any) {
			c := c.(map[string]any)
			cs = append(cs, fmt.Sprintf("%v:%v:%v", c["name"], c["status"], c["restarts"]))
		}
		byName[fmt.Sprintf("%v/%v", p["namespace"], p["name"])] = fmt.Sprintf("%v %v", p["qos_class"], strings.Join(cs, ","))
	}
	for pod, want := range map[string]string{
		"shop/web":    "BestEffort redis:running:0,sleeper:running:0",
		"default/web": "Burstable redis:running:0",
		"shop/cache":  "BestEffort redis:running:1",
	} {
		if byName[pod] != want {
			t.Errorf("ls --pods: %s is %q, want %q", pod, byName[pod], want)
		}
	}
}

// podLeftovers is what the CRI containerd holds that a test could leave.
func podLeftovers(t *testing.T) string {
	t.Helper()
	ctr := strings.Join(ctrCRI(), " ")
	return sh(t, "sh", "-c", fmt.Sprintf("%[1]s -n k8s.io c ls -q; %[1]s -n k8s.io snapshots ls; %[1]s -n k8s.io leases ls -q", ctr)) +
		"\n" + crictl(t, "pods", "-q") + "\n" + crictl(t, "ps", "-aq")
}

// A sidecar on a pod is the pod's: in its cgroup, in its network, IPC and
// UTS namespaces; when the pod goes, gc removes it, and CRI never saw it.
func TestPodSidecar(t *testing.T) {
	before := podLeftovers(t)
	podID, appID := runThrowawayPod(t)
	name := "gone-side"
	if out := mustRun(t, onPods(t, "attach", "shop/gone/app", "--image", "busybox", "--name", name, "--", "sleep", "1000")); !strings.Contains(out, name) {
		t.Fatalf("attach printed %q", out)
	}
	side := podRow(t, "shop/gone/"+name, "running")
	pid := taskPID(t, ctrCRI(), "k8s.io", side.ID)
	app := taskPID(t, ctrCRI(), "k8s.io", appID)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	cg := string(b)
	if !strings.Contains(cg, ":/kubepods/besteffort/pod"+goneUID+"/"+name+"\n") {
		t.Errorf("the sidecar is not in the pod's cgroup:\n%s", cg)
	}
	for _, kind := range []string{"net", "ipc", "uts"} {
		if nsInode(t, pid, kind) != nsInode(t, app, kind) {
			t.Errorf("the sidecar does not share the pod's %s namespace", kind)
		}
	}
	if nsInode(t, pid, "pid") == nsInode(t, app, "pid") {
		t.Errorf("the sidecar shares the PID namespace of a pod that shares none")
	}
	if out := mustRun(t, onPods(t, name, "--", "hostname")); out != "gone\n" {
		t.Errorf("the sidecar's hostname is %q, want the pod's", out)
	}
	// By its whole ID: its pod is its sandbox's, found by its labels.
	if out := mustRun(t, onPods(t, "containerd://k8s.io/"+side.ID, "--sandbox", "--", "hostname")); out != "gone\n" {
		t.Errorf("the sidecar's sandbox, by the sidecar's ID: hostname %q", out)
	}
	if ls := mustRun(t, onPods(t, "attach", "ls")); !regexpMatch(`shop/gone/`+name+`\s+\S+\s+running\s+shop/gone/app\n`, ls) {
		t.Errorf("attach ls:\n%s", ls)
	}
	// CRI knows only its own containers, also once containerd has
	// restarted with the sidecar present.
	pods := crictl(t, "pods", "-q")
	restartCRI(t)
	if got := crictl(t, "ps", "-aq", "--pod", podID); got != appID {
		t.Errorf("crictl ps of the pod = %q, want only its own container %s", got, appID)
	}
	if got := crictl(t, "pods", "-q"); got != pods {
		t.Errorf("crictl pods after a restart of containerd = %q, want %q", got, pods)
	}
	if r := podRow(t, "shop/gone/"+name, "running"); r.ID != side.ID {
		t.Errorf("the sidecar after a restart of containerd: %+v", r)
	}

	crictl(t, "stopp", podID)
	crictl(t, "rmp", podID)
	if ls := mustRun(t, onPods(t, "attach", "ls")); !regexpMatch(name+`.*\(target gone\)`, ls) {
		t.Errorf("attach ls does not flag the sidecar whose pod is gone:\n%s", ls)
	}
	if out := mustRun(t, onPods(t, "gc")); !strings.Contains(out, name) {
		t.Errorf("gc did not say it removed %s: %q", name, out)
	}
	if _, err := os.Stat(filepath.Join("/var/log/ctr-enter/k8s.io", name+".log")); err == nil {
		t.Errorf("the sidecar's log is left")
	}
	if after := podLeftovers(t); after != before {
		t.Errorf("left behind:\nbefore: %s\nafter:  %s", before, after)
	}
}

// restartCRI stops the CRI containerd (its shims, and so the pods, run
// on) and starts it again.
func restartCRI(t *testing.T) {
	t.Helper()
	sh(t, "./env.sh", "restart-cri")
}

// goneUID is the UID of runThrowawayPod's pod.
const goneUID = "3f5b6c1e-7a2d-4e8f-9b10-0000000a0f00"

// runThrowawayPod makes pod shop/gone, with one container app, as the
// kubelet would (labels, cgroup parent, its own PID namespace), for a test
// that deletes it; it goes at the end whatever happens.
func runThrowawayPod(t *testing.T) (podID, ctrID string) {
	t.Helper()
	dir := t.TempDir()
	labels := fmt.Sprintf(`"io.kubernetes.pod.name": "gone", "io.kubernetes.pod.namespace": "shop", "io.kubernetes.pod.uid": %q`, goneUID)
	pod := fmt.Sprintf(`{"metadata": {"name": "gone", "namespace": "shop", "uid": %q},
		"hostname": "gone", "log_directory": %q, "labels": {%s},
		"linux": {"cgroup_parent": "/kubepods/besteffort/pod%s", "security_context": {"namespace_options": {"pid": 1}}}}`,
		goneUID, dir, labels, goneUID)
	ctr := fmt.Sprintf(`{"metadata": {"name": "app"}, "image": {"image": "docker.io/ctr-enter-test/busybox:latest"},
		"command": ["sleep", "1000000"], "log_path": "app.log",
		"labels": {"io.kubernetes.container.name": "app", %s}}`, labels)
	podFile, ctrFile := filepath.Join(dir, "pod.json"), filepath.Join(dir, "ctr.json")
	os.WriteFile(podFile, []byte(pod), 0o600)
	os.WriteFile(ctrFile, []byte(ctr), 0o600)
	// What a run killed before its cleanup left (CRI would refuse the
	// name), and the sidecar it had attached.
	for _, old := range strings.Fields(crictl(t, "pods", "--namespace", "^shop$", "--name", "^gone$", "-q")) {
		crictl(t, "rmp", "-f", old)
	}
	onPods(t, "gc")
	podID = crictl(t, "runp", podFile)
	t.Cleanup(func() {
		// Gone already, unless the test failed before it deleted it.
		cri := e2eState() + "/cri"
		exec.Command(cri+"/bin/crictl", "--config", cri+"/crictl.yaml", "rmp", "-f", podID).Run()
	})
	ctrID = crictl(t, "create", podID, ctrFile, podFile)
	crictl(t, "start", ctrID)
	return podID, ctrID
}
