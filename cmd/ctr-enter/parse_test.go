package main

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// exited is what kong.Exit panics with in the tests: kong exits after
// printing help.
type exited int

// parsed is a command line as kong parsed it with ctr-enter's grammar.
type parsed struct {
	cli    *cli
	kctx   *kong.Context
	err    error
	exit   *int   // set when kong asked to exit (--help)
	stdout string // what kong printed (help)
}

// command is the selected command's path, as kong names it ("attach ls
// <target>").
func (p parsed) command() string { return p.kctx.Command() }

// parse parses args as main does, with kong.Exit overridden and kong's
// output captured, in an environment without the variables the globals
// read (CONTAINERD_ADDRESS...), so that the defaults are the grammar's
// own; help is 200 columns wide, so that its lines can be looked for
// whole.
func parse(t *testing.T, args ...string) parsed {
	t.Helper()
	return parseEnv(t, nil, args...)
}

// parseEnv is parse with the variables of env set.
func parseEnv(t *testing.T, env map[string]string, args ...string) parsed {
	t.Helper()
	for _, v := range []string{"CONTAINERD_ADDRESS", "CONTAINERD_NAMESPACE", "DOCKER_HOST"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	t.Setenv("COLUMNS", "200")
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out bytes.Buffer
	var p parsed
	func() {
		defer func() {
			if r := recover(); r != nil {
				code, ok := r.(exited)
				if !ok {
					panic(r)
				}
				p.exit = (*int)(&code)
			}
		}()
		p.cli, p.kctx, p.err = parseArgs(args, kong.Writers(&out, &out), kong.Exit(func(code int) { panic(exited(code)) }))
	}()
	p.stdout = out.String()
	return p
}

// mustParse parses args, which must parse.
func mustParse(t *testing.T, args ...string) parsed {
	t.Helper()
	p := parse(t, args...)
	if p.err != nil || p.exit != nil {
		t.Fatalf("%q: err %v, exit %v, output %q", args, p.err, p.exit, p.stdout)
	}
	return p
}

// parseError parses args, which kong must refuse with an error
// containing want.
func parseError(t *testing.T, want string, args ...string) {
	t.Helper()
	p := parse(t, args...)
	if p.err == nil {
		t.Errorf("%q parsed as %q; want error %q", args, p.kctx.Command(), want)
		return
	}
	if !strings.Contains(p.err.Error(), want) {
		t.Errorf("%q: error %q; want %q", args, p.err, want)
	}
}

// help is what args print when they ask for help (kong then exits 0).
func help(t *testing.T, args ...string) string {
	t.Helper()
	p := parse(t, args...)
	if p.exit == nil || *p.exit != 0 {
		t.Fatalf("%q: exit %v, err %v; want exit 0 after help", args, p.exit, p.err)
	}
	return p.stdout
}

// grammarCase is a command line and what kong must make of it: the
// command it selects, by path ("attach ls <target>"), and that command's
// struct as parsed.
type grammarCase struct {
	args    []string
	command string
	want    any
}

// checkGrammar parses the command line of each case and compares what
// kong selects with the case's.
func checkGrammar(t *testing.T, cases []grammarCase) {
	t.Helper()
	for _, tc := range cases {
		p := mustParse(t, tc.args...)
		got := p.kctx.Selected().Target.Interface()
		if p.command() != tc.command || !reflect.DeepEqual(emptyListsNil(got), emptyListsNil(tc.want)) {
			t.Errorf("%q selects %q with\n %+v\nwant %q with\n %+v", tc.args, p.command(), got, tc.command, tc.want)
		}
	}
}

// emptyListsNil is a copy of the struct v with its empty lists nil: kong
// leaves a list it did not fill empty or nil, depending on its path.
func emptyListsNil(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Struct {
		return v
	}
	c := reflect.New(rv.Type()).Elem()
	c.Set(rv)
	for i := 0; i < c.NumField(); i++ {
		if f := c.Field(i); f.Kind() == reflect.Slice && f.Len() == 0 && f.CanSet() {
			f.Set(reflect.Zero(f.Type()))
		}
	}
	return c.Interface()
}

// errorCase is a command line that kong must refuse, and what its error
// says.
type errorCase struct {
	args []string
	want string
}

func checkErrors(t *testing.T, cases []errorCase) {
	t.Helper()
	for _, tc := range cases {
		parseError(t, tc.want, tc.args...)
	}
}

// hasAll checks that out, the output of what, has every one of wants.
func hasAll(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, out)
		}
	}
}

// examples are the lines of a command's Help() that show a command line:
// each must reach --help whole.
func examples(helpText string) []string {
	var out []string
	for _, line := range strings.Split(helpText, "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "ctr-enter ") || strings.Contains(line, "| ctr-enter ") ||
			strings.HasPrefix(line, "source <(ctr-enter ") {
			out = append(out, line)
		}
	}
	return out
}

// hasExamples checks that out, the output of --help, shows every example
// of helpText, and that there is at least one.
func hasExamples(t *testing.T, out, helpText string) {
	t.Helper()
	ex := examples(helpText)
	if len(ex) == 0 {
		t.Fatalf("no examples in %q", helpText)
	}
	for _, e := range ex {
		if !strings.Contains(out, "\n    "+e+"\n") {
			t.Errorf("help lacks the example line %q:\n%s", e, out)
		}
	}
}
