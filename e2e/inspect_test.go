//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schema compiles inspect/schema.json, or one of its $defs.
func schema(t *testing.T, ref string) *jsonschema.Schema {
	t.Helper()
	path, err := filepath.Abs("../inspect/schema.json")
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	s, err := c.Compile(path + ref)
	if err != nil {
		t.Fatalf("compile the documented schema: %v", err)
	}
	return s
}

// inspectJSON runs inspect --json, checks the output against the
// documented schema, and returns it decoded.
func inspectJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	r := run(t, append([]string{"inspect", "--json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(r.stdout))
	if err != nil {
		t.Fatalf("inspect --json is not JSON: %v\n%s", err, r.stdout)
	}
	if err := schema(t, "").Validate(doc); err != nil {
		t.Fatalf("inspect --json does not follow inspect/schema.json: %v", err)
	}
	// The schema is strict enough to tell: a field missing, or one more.
	broken := doc.(map[string]any)
	cgroups := broken["cgroups"]
	delete(broken, "cgroups")
	if schema(t, "").Validate(broken) == nil {
		t.Errorf("the schema accepts a report without cgroups")
	}
	broken["cgroups"], broken["surprise"] = cgroups, 1
	if schema(t, "").Validate(broken) == nil {
		t.Errorf("the schema accepts an undocumented field")
	}
	// Numbers as written: a float64 would print 64 MiB as 6.7108864e+07.
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// get walks a decoded JSON document: get(m, "cgroups", "memory", "limit").
func get(m any, path ...string) any {
	for _, p := range path {
		obj, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = obj[p]
	}
	return m
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// kernelFile reads a cgroup file of pid the way an operator would, by
// finding its directory under /sys/fs/cgroup from the container's ID.
func kernelFile(t *testing.T, id, file string) string {
	t.Helper()
	matches, _ := filepath.Glob("/sys/fs/cgroup/*/*/" + id + "/" + file)
	if len(matches) == 0 {
		t.Fatalf("no %s for %s under /sys/fs/cgroup", file, id)
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestInspectDockerContainer(t *testing.T) {
	profile := noMkdirProfile(t)
	id := startDocker(t, "e2e-inspected", "--memory", "64m", "--cpu-shares", "512", "--cpus", "0.5",
		"--pids-limit", "42", "--cap-drop", "NET_RAW", "--cap-drop", "MKNOD", "--security-opt", "seccomp="+profile,
		"-e", "API_TOKEN=hunter2", "-e", "PLAIN=visible", "ctr-enter-test/busybox", "sleep", "1000000")
	startDocker(t, "e2e-inspected-sidecar", "--net", "container:e2e-inspected", "ctr-enter-test/busybox", "sleep", "1000000")
	pid := dockerPID(t, "e2e-inspected")

	m := inspectJSON(t, "docker://e2e-inspected")
	num := func(path ...string) string { return fmt.Sprint(get(m, path...)) }

	if got := num("pid"); got != strconv.Itoa(pid) {
		t.Errorf("pid %s, want %d", got, pid)
	}
	stat, ok := readStat(pid)
	if !ok {
		t.Fatalf("no /proc/%d/stat", pid)
	}
	if num("ppid") != strconv.Itoa(stat.ppid) {
		t.Errorf("ppid %s, want the kernel's %d", num("ppid"), stat.ppid)
	}
	for _, c := range []struct {
		path []string
		want string
	}{
		{[]string{"cgroups", "memory", "limit"}, kernelFile(t, id, "memory.limit_in_bytes")},
		{[]string{"cgroups", "memory", "limit"}, strconv.Itoa(64 << 20)},
		{[]string{"cgroups", "cpu", "shares"}, kernelFile(t, id, "cpu.shares")},
		{[]string{"cgroups", "cpu", "shares"}, "512"},
		{[]string{"cgroups", "cpu", "quota_us"}, kernelFile(t, id, "cpu.cfs_quota_us")},
		{[]string{"cgroups", "cpu", "quota_us"}, "50000"},
		{[]string{"cgroups", "cpu", "period_us"}, kernelFile(t, id, "cpu.cfs_period_us")},
		{[]string{"cgroups", "pids", "limit"}, kernelFile(t, id, "pids.max")},
		{[]string{"cgroups", "pids", "limit"}, "42"},
		{[]string{"cgroups", "pids", "current"}, kernelFile(t, id, "pids.current")},
		{[]string{"security", "seccomp"}, "filter"},
		{[]string{"security", "seccomp_filters"}, "1"},
		{[]string{"security", "no_new_privs"}, "false"},
		{[]string{"security", "uid"}, "0"},
	} {
		if got := num(c.path...); got != c.want {
			t.Errorf("%s = %s, want %s", strings.Join(c.path, "."), got, c.want)
		}
	}
	for _, path := range [][]string{{"cgroups", "memory", "usage"}, {"cgroups", "memory", "peak"}, {"cgroups", "cpu", "usage_ns"}} {
		if v, err := strconv.ParseUint(num(path...), 10, 64); err != nil || v == 0 {
			t.Errorf("%s = %s, want a positive number", strings.Join(path, "."), num(path...))
		}
	}

	caps := get(m, "security", "capabilities")
	bounding, dropped := strs(get(caps, "bounding")), strs(get(caps, "dropped"))
	if slices.Contains(bounding, "CAP_NET_RAW") || !slices.Contains(bounding, "CAP_CHOWN") {
		t.Errorf("bounding set %v", bounding)
	}
	slices.Sort(dropped)
	if !slices.Equal(dropped, []string{"CAP_MKNOD", "CAP_NET_RAW"}) {
		t.Errorf("dropped from the default: %v", dropped)
	}

	var netShared []string
	for _, ns := range get(m, "namespaces").([]any) {
		if get(ns, "kind") == "net" {
			netShared = strs(get(ns, "shared_with"))
			if fmt.Sprint(get(ns, "inode")) != fmt.Sprint(nsInode(t, pid, "net")) {
				t.Errorf("net inode %v, want %d", get(ns, "inode"), nsInode(t, pid, "net"))
			}
		}
		if get(ns, "kind") == "mnt" && get(ns, "shared_with_host") != false {
			t.Errorf("mnt namespace shown as the host's")
		}
	}
	if !slices.Equal(netShared, []string{"docker://e2e-inspected-sidecar"}) {
		t.Errorf("net namespace shared with %v, want the sidecar", netShared)
	}

	procs := get(m, "processes").([]any)
	if len(procs) < 2 || !strings.Contains(fmt.Sprint(get(procs[0], "name")), "containerd-shim") ||
		get(procs[1], "cmdline") != "sleep 1000000" || fmt.Sprint(get(procs[1], "depth")) != "1" {
		t.Errorf("process tree: %v", procs)
	}

	env := strs(get(m, "env"))
	if !slices.Contains(env, "API_TOKEN=*****") || !slices.Contains(env, "PLAIN=visible") {
		t.Errorf("env: %v", env)
	}
	if env := strs(get(inspectJSON(t, "docker://e2e-inspected", "--show-secrets"), "env")); !slices.Contains(env, "API_TOKEN=hunter2") {
		t.Errorf("env with --show-secrets: %v", env)
	}

	// The human form says the same.
	r := run(t, "inspect", "docker://e2e-inspected")
	for _, want := range []string{"docker://e2e-inspected-sidecar", "CAP_NET_RAW", "limit 67108864 bytes", "shares 512", "filter (1 filters)"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("inspect lacks %q:\n%v", want, r)
		}
	}
}

func TestInspectContainerdContainer(t *testing.T) {
	containerdRuntime.run(t, "-n", "e2e", "run", "-d", "--memory-limit", strconv.Itoa(48<<20), "--cpu-shares", "256", "--cap-drop", "CAP_NET_RAW",
		"--env", "DB_PASSWORD=swordfish", "docker.io/ctr-enter-test/busybox:latest", "e2e-inspected", "sleep", "1000000")
	t.Cleanup(func() { containerdRuntime.remove(t, "e2e-inspected") })
	pid := containerdPID(t, "e2e", "e2e-inspected")
	m := inspectJSON(t, "containerd://e2e/e2e-inspected")
	for _, c := range []struct {
		path []string
		want string
	}{
		{[]string{"pid"}, strconv.Itoa(pid)},
		{[]string{"runtime"}, "containerd"},
		{[]string{"namespace"}, "e2e"},
		{[]string{"cgroups", "memory", "limit"}, kernelFile(t, "e2e-inspected", "memory.limit_in_bytes")},
		{[]string{"cgroups", "memory", "limit"}, strconv.Itoa(48 << 20)},
		{[]string{"cgroups", "cpu", "shares"}, kernelFile(t, "e2e-inspected", "cpu.shares")},
		{[]string{"cgroups", "cpu", "shares"}, "256"},
		{[]string{"cgroups", "pids", "current"}, kernelFile(t, "e2e-inspected", "pids.current")},
	} {
		if got := fmt.Sprint(get(m, c.path...)); got != c.want {
			t.Errorf("%s = %s, want %s", strings.Join(c.path, "."), got, c.want)
		}
	}
	if dropped := strs(get(m, "security", "capabilities", "dropped")); !slices.Equal(dropped, []string{"CAP_NET_RAW"}) {
		t.Errorf("dropped: %v", dropped)
	}
	if env := strs(get(m, "env")); !slices.Contains(env, "DB_PASSWORD=*****") {
		t.Errorf("env: %v", env)
	}
	// The user-namespaced container: its user namespace is its own.
	m = inspectJSON(t, "containerd://e2e/userns")
	for _, ns := range get(m, "namespaces").([]any) {
		if get(ns, "kind") == "user" && get(ns, "shared_with_host") != false {
			t.Errorf("userns container's user namespace shown as the host's")
		}
	}
}

func TestLsListsEveryContainer(t *testing.T) {
	r := run(t, "ls", "--json")
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	rowSchema := schema(t, "#/$defs/row")
	for _, row := range doc.([]any) {
		if err := rowSchema.Validate(row); err != nil {
			t.Errorf("ls row does not follow the schema: %v", err)
		}
	}
	var rows []map[string]any
	json.Unmarshal([]byte(r.stdout), &rows)
	byRef := map[string]map[string]any{}
	for _, row := range rows {
		byRef[row["ref"].(string)] = row
	}
	want := map[string]int{
		"docker://taka":            dockerPID(t, "taka"),
		"docker://taka-sidecar":    dockerPID(t, "taka-sidecar"),
		"docker://noshell":         dockerPID(t, "noshell"),
		"containerd://e2e/taka":    containerdPID(t, "e2e", "taka"),
		"containerd://e2e/userns":  containerdPID(t, "e2e", "userns"),
		"containerd://e2e/noshell": containerdPID(t, "e2e", "noshell"),
	}
	for ref, pid := range want {
		row, ok := byRef[ref]
		if !ok {
			t.Errorf("ls lacks %s", ref)
			continue
		}
		if row["pid"] != float64(pid) || row["status"] != "running" {
			t.Errorf("%s: pid %v status %v, want %d running", ref, row["pid"], row["status"], pid)
		}
	}
	if got := fmt.Sprint(get(byRef["docker://taka"], "shares", "net")); got != "[docker://taka-sidecar]" {
		t.Errorf("taka shares net with %s", got)
	}
	if got := fmt.Sprint(get(byRef["docker://taka-sidecar"], "shares", "net")); got != "[docker://taka]" {
		t.Errorf("taka-sidecar shares net with %s", got)
	}
	// Docker's containers are not listed twice (once more in moby).
	for ref := range byRef {
		if strings.HasPrefix(ref, "containerd://moby/") {
			t.Errorf("docker container listed through containerd too: %s", ref)
		}
	}
	if r := run(t, "ls"); r.code != 0 || !strings.Contains(r.stdout, "net:docker://taka-sidecar") {
		t.Errorf("ls: %v", r)
	}
}

func TestUpdateMemoryLimit(t *testing.T) {
	id := startDocker(t, "e2e-updated", "--memory", "64m", "ctr-enter-test/busybox", "sleep", "1000000")
	r := run(t, "update", "docker://e2e-updated", "--memory", "96m")
	want := strconv.Itoa(96 << 20)
	if r.code != 0 || !strings.Contains(r.stdout, "memory limit: "+want) {
		t.Errorf("update: %v", r)
	}
	if got := kernelFile(t, id, "memory.limit_in_bytes"); got != want {
		t.Errorf("kernel memory.limit_in_bytes %s, want %s", got, want)
	}
	if got := sh(t, "docker", "inspect", "-f", "{{.HostConfig.Memory}}", "e2e-updated"); got != want {
		t.Errorf("docker's view: %s, want %s", got, want)
	}

	r = run(t, "update", "containerd://e2e/taka", "--memory", "80m")
	want = strconv.Itoa(80 << 20)
	if r.code != 0 || !strings.Contains(r.stdout, "memory limit: "+want) {
		t.Errorf("update: %v", r)
	}
	if got := kernelFile(t, "taka", "memory.limit_in_bytes"); got != want {
		t.Errorf("kernel memory.limit_in_bytes %s, want %s", got, want)
	}
	if metrics := sh(t, "ctr", "-n", "e2e", "task", "metrics", "taka"); !strings.Contains(metrics, want) {
		t.Errorf("containerd's view does not show %s:\n%s", want, metrics)
	}
	// Back to no limit, as env.sh made it.
	if r := run(t, "update", "containerd://e2e/taka", "--memory", "max"); r.code != 0 || !strings.Contains(r.stdout, "memory limit: none") {
		t.Errorf("update to max: %v", r)
	}
	oneLineError(t, run(t, "update", "docker://e2e-updated", "--memory", "lots"), 125, "invalid size")
}
