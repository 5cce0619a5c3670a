package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ctr-enter/ctr-enter/runtimes"
)

func TestUpdateGrammar(t *testing.T) {
	checkGrammar(t, []grammarCase{
		{[]string{"update", "taka", "--memory", "256m"}, "update <target>", updateCmd{Target: "taka", Memory: "256m"}},
		{[]string{"update", "--memory=max", "containerd://e2e/taka"}, "update <target>", updateCmd{Target: "containerd://e2e/taka", Memory: "max"}},
		// The size is read by checkArgs, not by kong.
		{[]string{"update", "taka", "--memory", "bogus"}, "update <target>", updateCmd{Target: "taka", Memory: "bogus"}},
		{[]string{"update", "taka", "--memory", "1g", "--cpus", "0.5", "--cpu-shares", "512", "--pids-limit", "max"}, "update <target>", updateCmd{
			Target: "taka", Memory: "1g", CPUs: "0.5", CPUShares: 512, PidsLimit: "max",
		}},
		{[]string{"update", "taka", "--pids-limit=-1"}, "update <target>", updateCmd{Target: "taka", PidsLimit: "-1"}},
		// No limit at all parses; checkArgs refuses it.
		{[]string{"update", "taka"}, "update <target>", updateCmd{Target: "taka"}},
	})
	checkErrors(t, []errorCase{
		{[]string{"update"}, `expected "<target>"`},
		{[]string{"update", "--memory", "1g"}, `expected "<target>"`},
		{[]string{"update", "a", "b", "--memory", "1g"}, "unexpected argument b"},
		{[]string{"update", "taka", "--memory"}, `--memory: expected string value but got "EOL"`},
		{[]string{"update", "taka", "--cpu-shares", "lots"}, "--cpu-shares: expected a valid 64 bit uint"},
		{[]string{"update", "taka", "--cpu-period", "1000"}, "unknown flag --cpu-period"},
	})
}

func TestUpdateResources(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	u64 := func(v uint64) *uint64 { return &v }
	for _, tc := range []struct {
		cmd  updateCmd
		want runtimes.Resources
		err  string
	}{
		{updateCmd{CPUs: "0.5"}, runtimes.Resources{NanoCPUs: i64(5e8)}, ""},
		{updateCmd{CPUs: "2"}, runtimes.Resources{NanoCPUs: i64(2e9)}, ""},
		{updateCmd{CPUs: "0.01"}, runtimes.Resources{NanoCPUs: i64(1e7)}, ""},
		{updateCmd{CPUs: "0.001"}, runtimes.Resources{}, "--cpus 0.001: want 0.01 CPUs or more"},
		{updateCmd{CPUs: "-1"}, runtimes.Resources{}, "--cpus -1: want 0.01 CPUs or more"},
		{updateCmd{CPUs: "NaN"}, runtimes.Resources{}, "--cpus NaN: want a number of CPUs, as 0.5 or 2"},
		{updateCmd{CPUs: "two"}, runtimes.Resources{}, "--cpus two: want a number of CPUs, as 0.5 or 2"},
		{updateCmd{CPUShares: 512}, runtimes.Resources{CPUShares: u64(512)}, ""},
		{updateCmd{CPUShares: 1}, runtimes.Resources{}, "--cpu-shares 1: want 2 to 262144"},
		{updateCmd{CPUShares: 262145}, runtimes.Resources{}, "--cpu-shares 262145: want 2 to 262144"},
		{updateCmd{PidsLimit: "100"}, runtimes.Resources{Pids: i64(100)}, ""},
		{updateCmd{PidsLimit: "max"}, runtimes.Resources{Pids: i64(-1)}, ""},
		{updateCmd{PidsLimit: "-1"}, runtimes.Resources{Pids: i64(-1)}, ""},
		{updateCmd{PidsLimit: "0"}, runtimes.Resources{}, "--pids-limit 0: want a positive number, or max"},
		{updateCmd{PidsLimit: "1.5"}, runtimes.Resources{}, "--pids-limit 1.5: want a positive number, or max"},
		{updateCmd{Memory: "max", PidsLimit: "7"}, runtimes.Resources{Memory: i64(-1), Pids: i64(7)}, ""},
		{updateCmd{}, runtimes.Resources{}, "nothing to update: give --memory, --cpus, --cpu-shares or --pids-limit"},
	} {
		tc.cmd.Target = "taka"
		got, err := tc.cmd.resources()
		if errString(err) != tc.err || (err == nil && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("%+v: %+v, %v; want %+v, %q", tc.cmd, got, err, tc.want, tc.err)
		}
		if errString(tc.cmd.checkArgs()) != tc.err {
			t.Errorf("%+v: checkArgs %v; want %q", tc.cmd, tc.cmd.checkArgs(), tc.err)
		}
	}
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
		r, err := c.resources()
		var got int64
		if r.Memory != nil {
			got = *r.Memory
		}
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
	if !strings.HasPrefix(out, "Usage: ctr-enter update <target> [flags]\n") {
		t.Errorf("update --help:\n%s", out)
	}
	hasExamples(t, out, new(updateCmd).Help())
}
