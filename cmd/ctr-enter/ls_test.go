package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ctr-enter/ctr-enter/inspect"
	"github.com/ctr-enter/ctr-enter/resolve"
)

func TestLsGrammar(t *testing.T) {
	checkGrammar(t, []grammarCase{
		// issue 12: a container named ls, as any named like a command, is
		// entered only with the explicit "enter ls" or a pinned form such
		// as docker://ls; "ctr-enter ls" lists containers.
		{[]string{"ls"}, "ls", lsCmd{}},
		{[]string{"ls", "--json"}, "ls", lsCmd{JSON: true}},
		{[]string{"ls", "-a", "--pods"}, "ls", lsCmd{All: true, Pods: true}},
		{[]string{"docker://ls"}, "enter <target>", enterCmd{Target: "docker://ls"}},
	})
	checkErrors(t, []errorCase{
		{[]string{"ls", "x"}, "unexpected argument x"},
		{[]string{"ls", "--pod"}, "unknown flag --pod, did you mean \"--pods\"?"},
	})
}

func TestLsHelp(t *testing.T) {
	out := help(t, "ls", "--help")
	if !strings.HasPrefix(out, "Usage: ctr-enter ls [flags]\n") {
		t.Errorf("ls --help:\n%s", out)
	}
	hasExamples(t, out, new(lsCmd).Help())
}

func TestLsOutput(t *testing.T) {
	rows := []inspect.Row{
		{Runtime: "containerd", Namespace: "e2e", ID: "taka", Name: "taka", Image: "docker.io/library/busybox:latest", Status: "running", PID: 4242,
			Ref: "containerd://e2e/taka", Shares: map[string][]string{"pid": {"containerd://e2e/side"}, "net": {"containerd://e2e/side", "docker://web"}}},
		{Runtime: "docker", ID: strings.Repeat("0123456789abcdef", 4), Name: "stopped\x07", Image: "busybox", Status: "exited",
			Ref: "docker://stopped", Shares: map[string][]string{}},
	}
	cells := func(r inspect.Row) []string { return lsCells(r, displayNames(rows), false) }
	want := "" +
		"RUNTIME     NAMESPACE  ID            NAME      IMAGE                             STATUS   PID   SHARES\n" +
		"containerd  e2e        taka          taka      docker.io/library/busybox:latest  running  4242  net+pid:containerd://e2e/side,net:docker://web\n" +
		"docker                 0123456789ab  stopped?  busybox                           exited   -     -\n"
	printsList(t, "ls", false, rows, lsHeader, cells, want)
	want = `[
  {
    "runtime": "docker",
    "namespace": "",
    "id": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "name": "stopped\u0007",
    "image": "busybox",
    "status": "exited",
    "pid": 0,
    "ref": "docker://stopped",
    "shares": {}
  }
]
`
	printsList(t, "ls --json", true, rows[1:], lsHeader, cells, want)
}

// Pods' containers: by their pod names in SHARES, the sandbox marked as
// such, a dead attempt with its number; and ls --pods.
func TestLsPods(t *testing.T) {
	pod := func(container string, attempt int, sandbox bool) *inspect.Pod {
		return &inspect.Pod{Namespace: "shop", Name: "cache", UID: "u1", Container: container, Attempt: attempt, Sandbox: sandbox, QoSClass: "BestEffort"}
	}
	k8s := func(id string) string { return "containerd://k8s.io/" + strings.Repeat(id, 64) }
	rows := []inspect.Row{
		{Runtime: "containerd", Namespace: "k8s.io", ID: strings.Repeat("a", 64), Name: "shop/cache", Display: "shop/cache (sandbox)", Status: "running", PID: 10, Ref: k8s("a"),
			Shares: map[string][]string{"net": {k8s("c")}}, Pod: pod("", 0, true)},
		{Runtime: "containerd", Namespace: "k8s.io", ID: strings.Repeat("b", 64), Name: "shop/cache/redis", Display: "shop/cache/redis", Status: "exited", Ref: k8s("b"),
			Shares: map[string][]string{}, Pod: pod("redis", 0, false)},
		{Runtime: "containerd", Namespace: "k8s.io", ID: strings.Repeat("c", 64), Name: "shop/cache/redis", Display: "shop/cache/redis", Status: "running", PID: 12, Ref: k8s("c"),
			Shares: map[string][]string{"net": {k8s("a")}, "ipc": {k8s("a")}}, Pod: pod("redis", 1, false)},
	}
	names := displayNames(rows)
	cells := func(r inspect.Row) []string { return lsCells(r, names, false) }
	want := "" +
		"RUNTIME     NAMESPACE  ID            NAME              IMAGE  STATUS              PID  SHARES\n" +
		"containerd  k8s.io     bbbbbbbbbbbb  shop/cache/redis         exited (attempt 0)  -    -\n" +
		"containerd  k8s.io     cccccccccccc  shop/cache/redis         running             12   ipc+net:shop/cache (sandbox)\n"
	printsList(t, "ls", false, rows[1:], lsHeader, cells, want)
	want = "" +
		"NAMESPACE  POD    UID  QOS         STATUS   CONTAINERS\n" +
		"shop       cache  u1   BestEffort  running  redis:running(1 restarts)\n"
	printsList(t, "ls --pods", false, inspect.Pods(rows), podsHeader, podCells, want)
}

func TestLsCells(t *testing.T) {
	for _, tc := range []struct {
		id, want string
	}{
		{strings.Repeat("0123456789abcdef", 4), "0123456789ab"},
		// Not hex, or not 64 long: a name used as an ID, kept whole.
		{strings.Repeat("0123456789abcdeg", 4), strings.Repeat("0123456789abcdeg", 4)},
		{"0123456789abcdef", "0123456789abcdef"},
		{"taka\x1b", "taka?"},
	} {
		if got := shortID(tc.id); got != tc.want {
			t.Errorf("shortID(%q) = %q; want %q", tc.id, got, tc.want)
		}
	}
	for _, tc := range []struct {
		status string
		color  bool
		want   string
	}{
		{"running", false, "running"},
		{"running", true, "\x1b[32mrunning\x1b[0m"},
		{"paused", true, "\x1b[33mpaused\x1b[0m"},
		{"created", true, "\x1b[33mcreated\x1b[0m"},
		{"exited", true, "\x1b[31mexited\x1b[0m"},
		// The runtime's text is cleaned before it is painted.
		{"run\x1bning", true, "\x1b[31mrun?ning\x1b[0m"},
	} {
		if got := paintStatus(tc.status, tc.color); got != tc.want {
			t.Errorf("paintStatus(%q, %v) = %q; want %q", tc.status, tc.color, got, tc.want)
		}
	}
}

// TestLsFailsWhenNoRuntimeAnswered: issue 12, an empty table that exits 0
// when no runtime answered hid the cause.
func TestLsFailsWhenNoRuntimeAnswered(t *testing.T) {
	none := fmt.Errorf("%w (containerd: /x does not exist; docker: /y does not exist)", resolve.ErrNoRuntime)
	if err := listFailure([]error{errors.New("docker: hung"), none}); err != none {
		t.Errorf("listFailure = %v, want %v", err, none)
	}
	if err := listFailure([]error{errors.New("docker: hung")}); err != nil {
		t.Errorf("one runtime failing is a warning, not a failure: %v", err)
	}
	if exitCode(none) != 125 {
		t.Errorf("exit code %d, want 125", exitCode(none))
	}
}
