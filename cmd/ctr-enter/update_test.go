package main

import (
	"strings"
	"testing"
)

func TestUpdateGrammar(t *testing.T) {
	checkGrammar(t, []grammarCase{
		{[]string{"update", "taka", "--memory", "256m"}, "update <target>", updateCmd{Target: "taka", Memory: "256m"}},
		{[]string{"update", "--memory=max", "containerd://e2e/taka"}, "update <target>", updateCmd{Target: "containerd://e2e/taka", Memory: "max"}},
		// The size is read by checkArgs, not by kong.
		{[]string{"update", "taka", "--memory", "bogus"}, "update <target>", updateCmd{Target: "taka", Memory: "bogus"}},
	})
	checkErrors(t, []errorCase{
		{[]string{"update", "taka"}, "missing flags: --memory=SIZE"},
		{[]string{"update"}, "missing flags: --memory=SIZE"},
		{[]string{"update", "--memory", "1g"}, `expected "<target>"`},
		{[]string{"update", "a", "b", "--memory", "1g"}, "unexpected argument b"},
		{[]string{"update", "taka", "--memory"}, `--memory: expected string value but got "EOL"`},
		{[]string{"update", "taka", "--memory", "1g", "--cpus", "2"}, "unknown flag --cpus"},
	})
}

func TestUpdateMemory(t *testing.T) {
	for _, tc := range []struct {
		memory string
		want   int64
		err    string
	}{
		{"256m", 256 << 20, ""},
		{"1g", 1 << 30, ""},
		{"4096", 4096, ""},
		{"max", -1, ""},
		{"bogus", 0, "--memory bogus: invalid size: want a positive number with an optional k, m, g or t suffix, or max"},
		{"-1", -1, ""}, // as docker has it
		{"-2", 0, "--memory -2: invalid size"},
		{"0", 0, "--memory 0: invalid size"},
		{"1x", 0, "--memory 1x: invalid size"},
	} {
		c := updateCmd{Target: "taka", Memory: tc.memory}
		got, err := c.memoryLimit()
		if got != tc.want || !strings.HasPrefix(errString(err), tc.err) || (err == nil) != (tc.err == "") {
			t.Errorf("--memory %s: %d, %v; want %d, %q", tc.memory, got, err, tc.want, tc.err)
		}
		if errString(c.checkArgs()) != errString(err) {
			t.Errorf("--memory %s: checkArgs %v; want %v", tc.memory, c.checkArgs(), err)
		}
	}
}

func TestUpdateHelp(t *testing.T) {
	out := help(t, "update", "--help")
	if !strings.HasPrefix(out, "Usage: ctr-enter update --memory=SIZE <target> [flags]\n") {
		t.Errorf("update --help:\n%s", out)
	}
	hasExamples(t, out, new(updateCmd).Help())
}
