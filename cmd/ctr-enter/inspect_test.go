package main

import (
	"strings"
	"testing"
)

func TestInspectGrammar(t *testing.T) {
	checkGrammar(t, []grammarCase{
		{[]string{"inspect", "taka"}, "inspect <target>", inspectCmd{Target: "taka"}},
		{[]string{"inspect", "docker://taka", "--json"}, "inspect <target>", inspectCmd{Target: "docker://taka", JSON: true}},
		{[]string{"inspect", "--show-secrets", "pid:4242", "--json"}, "inspect <target>", inspectCmd{Target: "pid:4242", JSON: true, ShowSecrets: true}},
		{[]string{"--timeout", "1s", "inspect", "containerd://k8s.io/3f2a"}, "inspect <target>", inspectCmd{Target: "containerd://k8s.io/3f2a"}},
	})
	checkErrors(t, []errorCase{
		{[]string{"inspect"}, `expected "<target>"`},
		{[]string{"inspect", "a", "b"}, "unexpected argument b"},
		{[]string{"inspect", "taka", "--net"}, "unknown flag --net"},
		{[]string{"inspect", "taka", "--", "ps"}, "unexpected argument ps"},
		{[]string{"inspect", "--json"}, `expected "<target>"`},
	})
}

func TestInspectHelp(t *testing.T) {
	out := help(t, "inspect", "--help")
	if !strings.HasPrefix(out, "Usage: ctr-enter inspect <target> [flags]\n") {
		t.Errorf("inspect --help:\n%s", out)
	}
	hasExamples(t, out, new(inspectCmd).Help())
	hasAll(t, "inspect --help", out, "--json", "--show-secrets", "as documented in inspect/schema.json")
}
