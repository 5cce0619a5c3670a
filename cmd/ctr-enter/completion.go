package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"github.com/posener/complete"
	"github.com/willabides/kongplete"

	"github.com/ctr-enter/ctr-enter/attach"
	"github.com/ctr-enter/ctr-enter/images"
	"github.com/ctr-enter/ctr-enter/internal/text"
	"github.com/ctr-enter/ctr-enter/resolve"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

// completionCmd prints what a shell needs to ask ctr-enter for completions
// (kongplete answers them: commands, flags, and target names).
type completionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"bash, zsh or fish."`
}

func (c *completionCmd) Help() string {
	return `Examples:
  source <(ctr-enter completion bash)                 # bash, this shell
  ctr-enter completion bash > /etc/bash_completion.d/ctr-enter
  source <(ctr-enter completion zsh)                  # zsh
  ctr-enter completion fish | source                  # fish`
}

var completionScripts = map[string]string{
	"bash": "complete -C %[1]q %[2]s\n",
	"zsh":  "autoload -U +X bashcompinit && bashcompinit\ncomplete -C %[1]q %[2]s\n",
	"fish": `function __complete_%[2]s
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    %[1]q
end
complete -f -c %[2]s -a "(__complete_%[2]s)"
`,
}

func (c *completionCmd) Run() error {
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	return c.write(os.Stdout, bin, filepath.Base(os.Args[0]))
}

// write prints the script that has the shell ask bin for the completions
// of the command it knows as name.
func (c *completionCmd) write(w io.Writer, bin, name string) error {
	_, err := fmt.Fprintf(w, completionScripts[c.Shell], bin, name)
	return err
}

// completeCommandLine answers a shell asking for completions (COMP_LINE is
// set) and exits; otherwise it returns at once.
func completeCommandLine(parser *kong.Kong) {
	if os.Getenv("COMP_LINE") == "" {
		return
	}
	if err := completeLine(parser, os.Stdout, targetPredictor(), imagePredictor(), sidecarPredictor()); err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

// completeLine prints the completions of the line in COMP_LINE (and
// COMP_POINT), one a line, predicting targets and images with the
// predictors given.
func completeLine(parser *kong.Kong, out io.Writer, targets, imageRefs, sidecars complete.Predictor) error {
	if commandStarted(os.Getenv("COMP_LINE"), os.Getenv("COMP_POINT")) {
		return nil // the words are the command's: nothing of ctr-enter's fits
	}
	cmd, err := kongplete.Command(parser, kongplete.WithPredictor("target", targets), kongplete.WithPredictor("image", imageRefs), kongplete.WithPredictor("sidecar", sidecars),
		kongplete.WithPredictor("target-path", targetPathPredictor(targets)))
	if err != nil {
		return err
	}
	// enter and attach run are default commands: their target and flags
	// complete one level up too (kongplete knows only explicit
	// subcommands), as that level's own flags, not global ones, so that
	// enter's are not offered after attach.
	defaultCommand(&cmd, cmd.Sub["enter"])
	attach := cmd.Sub["attach"]
	defaultCommand(&attach, attach.Sub["run"])
	cmd.Sub["attach"] = attach
	c := complete.New(parser.Model.Name, cmd)
	c.Out = out
	c.Complete()
	return nil
}

// defaultCommand makes parent complete as its default subcommand sub does.
func defaultCommand(parent *complete.Command, sub complete.Command) {
	parent.Args = sub.Args
	if parent.Flags == nil {
		parent.Flags = complete.Flags{}
	}
	for name, p := range sub.GlobalFlags {
		if _, global := parent.GlobalFlags[name]; !global {
			parent.Flags[name] = p
		}
	}
}

// commandStarted says whether the words before the one being completed
// already hold enter's command: every word after its first is the
// command's, so ctr-enter's flags, commands and targets would be wrong
// there. The words are split on blanks, without the shell's quoting: a
// quoted blank at worst costs a completion.
func commandStarted(line, point string) bool {
	if n, err := strconv.Atoi(point); err == nil && n >= 0 && n <= len(line) {
		line = line[:n]
	}
	words := strings.Fields(line)
	if len(words) == 0 {
		return false
	}
	words = words[1:] // the program
	if !strings.HasSuffix(line, " ") && len(words) > 0 {
		words = words[:len(words)-1] // the word being completed
	}
	var c cli
	parser, err := newParser(&c, kong.Writers(io.Discard, io.Discard), kong.Exit(func(int) { panic(completionExit{}) }))
	if err != nil {
		return false
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(completionExit); !ok {
				panic(r)
			}
		}
	}()
	kctx, err := parser.Parse(words)
	return err == nil && kctx.Selected() != nil && kctx.Selected().Target.Addr().Interface() == &c.Enter && len(c.Enter.Command) > 0
}

// completionExit is what kong.Exit panics with while commandStarted
// parses (--help, --version): the line is ctr-enter's, not a command's.
type completionExit struct{}

// targetPathPredictor completes cp's words: TARGET: for each target
// (a path in a target is not completed: that would read its files), or a
// host path.
func targetPathPredictor(targets complete.Predictor) complete.Predictor {
	return complete.PredictFunc(func(args complete.Args) []string {
		var out []string
		for _, t := range targets.Predict(args) {
			out = append(out, t+":")
		}
		return append(out, complete.PredictFiles("*").Predict(args)...)
	})
}

// imagePredictor completes the references of cached images: reading the
// cache's index asks no daemon.
func imagePredictor() complete.Predictor {
	return complete.PredictFunc(func(args complete.Args) []string {
		imgs, _ := images.List(context.Background(), images.Options{Root: imagesRoot()})
		var refs []string
		for _, img := range imgs {
			refs = append(refs, text.Clean(img.Ref))
		}
		return complete.PredictSet(refs...).Predict(args)
	})
}

// sidecarPredictor completes the names of ctr-enter's sidecars, with the
// same bound as targetPredictor.
func sidecarPredictor() complete.Predictor {
	return complete.PredictFunc(func(args complete.Args) []string {
		scs, _ := attach.List(context.Background(), runtimes.OptionsFromEnv(time.Second), nil)
		var names []string
		for _, s := range scs {
			names = append(names, text.Clean(s.Name), text.Clean(s.Ref))
		}
		return complete.PredictSet(names...).Predict(args)
	})
}

// targetPredictor completes target names from the runtimes, quickly or not
// at all: a shell waiting on a hung daemon is worse than no completion.
func targetPredictor() complete.Predictor {
	return complete.PredictFunc(func(args complete.Args) []string {
		ts, _ := resolve.List(context.Background(), runtimes.OptionsFromEnv(time.Second))
		var names []string
		for _, t := range ts {
			if !t.Running {
				continue
			}
			names = append(names, text.Clean(t.Name), t.String())
		}
		return complete.PredictSet(names...).Predict(args)
	})
}
