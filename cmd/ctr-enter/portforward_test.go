package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ctr-enter/ctr-enter/ports"
)

func TestPortForwardGrammar(t *testing.T) {
	checkGrammar(t, []grammarCase{
		{[]string{"port-forward", "taka", "6379"}, "port-forward <target> <ports>", portForwardCmd{Target: "taka", Ports: []string{"6379"}}},
		{[]string{"port-forward", "docker://taka", "8080:80", ":9090", "[::1]:1:2"}, "port-forward <target> <ports>", portForwardCmd{Target: "docker://taka", Ports: []string{"8080:80", ":9090", "[::1]:1:2"}}},
	})
	checkErrors(t, []errorCase{
		{[]string{"port-forward"}, `expected "<target> <ports> ..."`},
		{[]string{"port-forward", "taka"}, `expected "<ports> ..."`},
	})
}

func TestPortForwardArgs(t *testing.T) {
	c := portForwardCmd{Target: "taka", Ports: []string{"6379", ":80", "0.0.0.0:8080:80"}}
	fs, err := c.forwards()
	want := []ports.Forward{{Address: "127.0.0.1", Local: 6379, Remote: 6379}, {Address: "127.0.0.1", Remote: 80}, {Address: "0.0.0.0", Local: 8080, Remote: 80}}
	if err != nil || !reflect.DeepEqual(fs, want) {
		t.Errorf("forwards: %+v, %v; want %+v", fs, err, want)
	}
	c.Ports = []string{"6379", "80:x"}
	if err := c.checkArgs(); err == nil || !strings.Contains(err.Error(), `invalid port forward "80:x": remote port "x"`) {
		t.Errorf("checkArgs: %v", err)
	}
}

func TestPortForwardHelp(t *testing.T) {
	c := portForwardCmd{}
	hasExamples(t, help(t, "port-forward", "--help"), c.Help())
}
