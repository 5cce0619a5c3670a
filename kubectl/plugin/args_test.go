package plugin

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line                string
		kind, name, ns, ctr string
		ctrArgs             []string
		i, tty              bool
	}{
		{line: "web", kind: "pod", name: "web"},
		{line: "-n shop web -c redis -- ps aux", kind: "pod", name: "web", ns: "shop", ctr: "redis", ctrArgs: []string{"--", "ps", "aux"}},
		{line: "web -n shop -c redis ps aux", kind: "pod", name: "web", ns: "shop", ctr: "redis", ctrArgs: []string{"--", "ps", "aux"}},
		{line: "--namespace=shop pod/web --container=redis --net --pid ps -ef", kind: "pod", name: "web", ns: "shop", ctr: "redis", ctrArgs: []string{"--net", "--pid", "--", "ps", "-ef"}},
		{line: "-nshop web -credis", kind: "pod", name: "web", ns: "shop", ctr: "redis"},
		// ctr-enter's flags with values are not the command: "-u 0 id".
		{line: "web -u 0 id", kind: "pod", name: "web", ctrArgs: []string{"-u", "0", "--", "id"}},
		{line: "web -u0 --image busybox -e A=1 --env=B=2 -w /tmp env", kind: "pod", name: "web", ctrArgs: []string{"-u0", "--image", "busybox", "-e", "A=1", "--env=B=2", "-w", "/tmp", "--", "env"}},
		// After the command starts, every word is the command's, -c and -n too.
		{line: "web grep -c root -n /etc/passwd", kind: "pod", name: "web", ctrArgs: []string{"--", "grep", "-c", "root", "-n", "/etc/passwd"}},
		{line: "-it web sh", kind: "pod", name: "web", ctrArgs: []string{"-it", "--", "sh"}, i: true, tty: true},
		{line: "web -i --tty --as-target", kind: "pod", name: "web", ctrArgs: []string{"-i", "--tty", "--as-target"}, i: true, tty: true},
		{line: "web -iu 0 id", kind: "pod", name: "web", ctrArgs: []string{"-iu", "0", "--", "id"}, i: true},
		{line: "node/n1 -- ss -tlnp", kind: "node", name: "n1", ctrArgs: []string{"--", "ss", "-tlnp"}},
		{line: "pod/gc", kind: "pod", name: "gc"},
		{line: "shop/web -c redis -- ps aux", kind: "pod", name: "web", ns: "shop", ctr: "redis", ctrArgs: []string{"--", "ps", "aux"}},
		{line: "shop/web/redis ps", kind: "pod", name: "web", ns: "shop", ctr: "redis", ctrArgs: []string{"--", "ps"}},
		{line: "-n shop shop/web/redis -c redis", kind: "pod", name: "web", ns: "shop", ctr: "redis"},
		{line: "web -- -c", kind: "pod", name: "web", ctrArgs: []string{"--", "-c"}},
	} {
		a, err := Parse(strings.Fields(tc.line))
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		if a.Mode != ModeEnter || a.Kind != tc.kind || a.Name != tc.name || a.Flags.Namespace != tc.ns || a.Flags.Container != tc.ctr ||
			!reflect.DeepEqual(a.CtrArgs(), append([]string{}, tc.ctrArgs...)) || a.Interactive != tc.i || a.TTY != tc.tty {
			t.Errorf("%q: got kind %q name %q ns %q -c %q ctr-enter %q -i %v -t %v", tc.line, a.Kind, a.Name, a.Flags.Namespace, a.Flags.Container, a.CtrArgs(), a.Interactive, a.TTY)
		}
	}
}

func TestParseFlags(t *testing.T) {
	a, err := Parse(strings.Fields("--kubeconfig k --context c --cluster cl --debugger-image img:1 --debugger-pull-policy IfNotPresent --cri-socket /s --containerd-root /r --kubelet-root /kl --daemonset-namespace= --debugger-namespace dbg --pod-running-timeout 5s --debugger-ttl=2h web"))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultFlags()
	want.Kubeconfig, want.Context, want.Cluster = "k", "c", "cl"
	want.Image, want.PullPolicy, want.CRISocket, want.ContainerdRoot, want.KubeletRoot = "img:1", "IfNotPresent", "/s", "/r", "/kl"
	want.DaemonSetNamespace, want.DebuggerNamespace, want.RunningTimeout, want.TTL = "", "dbg", 5*time.Second, 2*time.Hour
	if a.Flags != want {
		t.Errorf("got %+v\nwant %+v", a.Flags, want)
	}
}

func TestParseModes(t *testing.T) {
	for line, mode := range map[string]Mode{
		"gc": ModeGC, "gc -A": ModeGC, "-n shop gc": ModeGC, "--help": ModeHelp, "web -h": ModeHelp,
		"help": ModeHelp, "version": ModeVersion,
	} {
		a, err := Parse(strings.Fields(line))
		if err != nil || a.Mode != mode {
			t.Errorf("%q: mode %v, %v; want %v", line, a, err, mode)
		}
	}
	if a, _ := Parse([]string{"gc", "-A"}); !a.Flags.AllNamespaces {
		t.Errorf("gc -A: not all namespaces")
	}
}

func TestParseErrors(t *testing.T) {
	for line, want := range map[string]string{
		"":                                 "no pod named",
		"-n shop":                          "no pod named",
		"-- ls":                            "no pod named before --",
		"pod//b":                           "name a pod as POD, pod/POD, NS/POD",
		"a/b/c/d":                          "name a pod as POD, pod/POD, NS/POD",
		"-n x shop/web":                    "shop/web names namespace shop, -n x another",
		"shop/web/redis -c sleeper":        "shop/web/redis names container redis, -c sleeper another",
		"web -c":                           "-c needs a value",
		"web -u":                           "-u needs a value",
		"node/n1 -c x":                     "a node has no containers",
		"web --debugger-pull-policy Maybe": "one of Always, IfNotPresent, Never",
		"web --debugger-ttl 0":             "not a positive duration",
		"web -ic x":                        "give -c on its own",
		"gc web":                           "gc takes only the plugin's flags",
		"--help=yes web":                   "--help takes no value",
	} {
		_, err := Parse(strings.Fields(line))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", line, err, want)
		}
	}
}

// TestCtrValueFlags checks the splitter's list of ctr-enter's flags that
// take a value against ctr-enter's grammar, read from its source: a flag
// added there without a word here would make its value the command.
func TestCtrValueFlags(t *testing.T) {
	fset := token.NewFileSet()
	dir := filepath.Join("..", "..", "cmd", "ctr-enter")
	pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	structs := map[string]*ast.StructType{}
	for _, p := range pkgs {
		for _, f := range p.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				if ts, ok := n.(*ast.TypeSpec); ok {
					if st, ok := ts.Type.(*ast.StructType); ok {
						structs[ts.Name.Name] = st
					}
				}
				return true
			})
		}
	}
	got := map[string]bool{}
	var walk func(name string)
	walk = func(name string) {
		st := structs[name]
		if st == nil {
			t.Fatalf("no struct %s in %s", name, dir)
		}
		for _, fld := range st.Fields.List {
			if len(fld.Names) == 0 { // embedded: its flags are the command's
				if id, ok := fld.Type.(*ast.Ident); ok && structs[id.Name] != nil {
					walk(id.Name)
				}
				continue
			}
			if fld.Tag == nil {
				continue
			}
			tag := reflect.StructTag(strings.Trim(fld.Tag.Value, "`"))
			if _, isArg := tag.Lookup("arg"); isArg {
				continue
			}
			if id, ok := fld.Type.(*ast.Ident); ok && id.Name == "bool" {
				continue
			}
			if sel, ok := fld.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "VersionFlag" {
				continue
			}
			long := tag.Get("name")
			if long == "" {
				long = kebab(fld.Names[0].Name)
			}
			got[long] = true
			if s := tag.Get("short"); s != "" {
				got[s] = true
			}
		}
	}
	walk("enterCmd")
	walk("Globals")
	if !reflect.DeepEqual(got, CtrValueFlags) {
		t.Errorf("ctr-enter's flags with values are %v; CtrValueFlags has %v", keys(got), keys(CtrValueFlags))
	}
}

// kebab is kong's flag name for a field: EnvFile -> env-file.
func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 && !(s[i-1] >= 'A' && s[i-1] <= 'Z') {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
