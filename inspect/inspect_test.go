package inspect

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
)

func TestMaskEnv(t *testing.T) {
	in := []string{"PATH=/bin", "DB_PASSWORD=x", "GITHUB_TOKEN=y", "api_key=z", "AUTHOR=me", "EVIL=\x1b[2J", "PLAIN"}
	want := []string{"PATH=/bin", "DB_PASSWORD=*****", "GITHUB_TOKEN=*****", "api_key=*****", "AUTHOR=*****", "EVIL=?[2J", "PLAIN"}
	if got := maskEnv(in, false); !reflect.DeepEqual(got, want) {
		t.Errorf("maskEnv = %q\nwant %q", got, want)
	}
	if got := maskEnv(in[:2], true); got[1] != "DB_PASSWORD=x" {
		t.Errorf("show secrets: %q", got)
	}
}

func TestWriteText(t *testing.T) {
	limit, usage := int64(64<<20), uint64(1234)
	r := &Report{
		Runtime: "docker", Namespace: "moby", ID: "abc", Name: "taka", Ref: "docker://taka", PID: 42, PPID: 41,
		Processes:  []Process{{PID: 41, Name: "containerd-shim"}, {PID: 42, PPID: 41, Depth: 1, Name: "redis-server", Cmdline: "redis-server *:6379"}},
		Env:        []string{"A=1"},
		Namespaces: []Namespace{{Kind: "net", Inode: 7, SharedWith: []string{"docker://sidecar"}}},
		Cgroups:    &procfs.Cgroups{Version: 1, Paths: map[string]string{"memory": "/docker/abc"}},
		Security:   Security{Seccomp: "filter", SeccompFilters: 1, Capabilities: Capabilities{Dropped: []string{"CAP_NET_RAW"}}},
	}
	r.Cgroups.Memory.Limit, r.Cgroups.Memory.Usage = &limit, &usage
	var b strings.Builder
	if err := WriteText(&b, r, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`taka  docker://taka`, `\n    42\s+redis-server\s+redis-server \*:6379\n`, `net\s+7\s+no\s+docker://sidecar`,
		`limit 67108864 bytes, usage 1234 bytes, peak -`, `dropped from default\s+CAP_NET_RAW`, `filter \(1 filters\)`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("escape sequences without color:\n%q", out)
	}
}
