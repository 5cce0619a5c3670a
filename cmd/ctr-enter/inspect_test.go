package main

import (
	"strings"
	"testing"
)

func TestInspectGrammar(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want inspectCmd
	}{
		{[]string{"inspect", "taka"}, inspectCmd{Target: "taka"}},
		{[]string{"inspect", "docker://taka", "--json"}, inspectCmd{Target: "docker://taka", JSON: true}},
		{[]string{"inspect", "--show-secrets", "pid:4242", "--json"}, inspectCmd{Target: "pid:4242", JSON: true, ShowSecrets: true}},
		{[]string{"--timeout", "1s", "inspect", "containerd://k8s.io/3f2a"}, inspectCmd{Target: "containerd://k8s.io/3f2a"}},
	} {
		p := mustParse(t, tc.args...)
		if p.command() != "inspect <target>" || p.cli.Inspect != tc.want {
			t.Errorf("%q selects %q with %+v; want inspect <target> with %+v", tc.args, p.command(), p.cli.Inspect, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"inspect"}, `expected "<target>"`},
		{[]string{"inspect", "a", "b"}, "unexpected argument b"},
		{[]string{"inspect", "taka", "--net"}, "unknown flag --net"},
		{[]string{"inspect", "taka", "--", "ps"}, "unexpected argument ps"},
		{[]string{"inspect", "--json"}, `expected "<target>"`},
	} {
		parseError(t, tc.want, tc.args...)
	}
}

func TestInspectHelp(t *testing.T) {
	out := help(t, "inspect", "--help")
	if !strings.HasPrefix(out, "Usage: ctr-enter inspect <target> [flags]\n") {
		t.Errorf("inspect --help:\n%s", out)
	}
	hasExamples(t, out, new(inspectCmd).Help())
	for _, want := range []string{"--json", "--show-secrets", "as documented in inspect/schema.json"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect --help lacks %q:\n%s", want, out)
		}
	}
}
