package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/ctr-enter/ctr-enter/inspect"
	"github.com/ctr-enter/ctr-enter/internal/text"
	"github.com/ctr-enter/ctr-enter/resolve"
)

type lsCmd struct {
	asRoot
	JSON bool `name:"json" help:"Print JSON: an array of the objects documented in inspect/schema.json (#/$defs/row; with --pods, #/$defs/pod_row)."`
	All  bool `short:"a" help:"Show Kubernetes pods' sandbox (pause) containers too."`
	Pods bool `help:"One row per Kubernetes pod: its namespace, name, UID, QoS class and containers, each with its state and restarts."`
}

func (c *lsCmd) Help() string {
	return `Lists the containers of every containerd namespace and of Docker, with the
PID of each running one and the namespaces it shares with another container
(a sidecar on the same network shows as net:NAME).

Kubernetes pods' containers are named NAMESPACE/POD/CONTAINER; a restarted
container's exited attempts show beside the running one, with their attempt
number; pods' sandbox (pause) containers show with --all.

Examples:
  ctr-enter ls
  ctr-enter ls --pods
  ctr-enter ls --json | jq '.[] | select(.status == "running") | .ref'`
}

func (c *lsCmd) Run(ctx context.Context, g *Globals) error {
	rows, errs := inspect.List(ctx, g.targetOptions())
	if err := listFailure(errs); err != nil {
		// An empty table would say "no containers" when the truth is
		// that nobody was asked.
		return err
	}
	for _, err := range errs {
		warn(err)
	}
	if c.Pods {
		return writeList(os.Stdout, c.JSON, inspect.Pods(rows), podsHeader, podCells)
	}
	names := displayNames(rows)
	if !c.All {
		rows = slices.DeleteFunc(rows, func(r inspect.Row) bool { return r.Pod != nil && r.Pod.Sandbox })
	}
	color := colorOn(os.Stdout)
	return writeList(os.Stdout, c.JSON, rows, lsHeader, func(r inspect.Row) []string { return lsCells(r, names, color) })
}

// displayNames maps the explicit forms of rows to how a person knows
// them (inspect.Row's Display), for the SHARES column.
func displayNames(rows []inspect.Row) map[string]string {
	m := make(map[string]string, len(rows))
	for _, r := range rows {
		m[r.Ref] = r.Display
	}
	return m
}

var podsHeader = []string{"NAMESPACE", "POD", "UID", "QOS", "STATUS", "CONTAINERS"}

// podCells is a row of ls --pods: each container as NAME:STATUS, with
// its restarts when it has any.
func podCells(p inspect.PodRow) []string {
	cs := make([]string, len(p.Containers))
	for i, c := range p.Containers {
		cs[i] = text.Clean(c.Name) + ":" + text.Clean(c.Status)
		if c.Restarts > 0 {
			cs[i] += fmt.Sprintf("(%d restarts)", c.Restarts)
		}
	}
	return []string{text.Clean(p.Namespace), text.Clean(p.Name), text.Clean(p.UID), orDash(p.QoSClass), text.Clean(p.Status), orDash(strings.Join(cs, ","))}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return text.Clean(s)
}

// listFailure is the error of a listing no runtime answered, if errs hold
// one; the other errors are warnings.
func listFailure(errs []error) error {
	for _, err := range errs {
		if errors.Is(err, resolve.ErrNoRuntime) {
			return err
		}
	}
	return nil
}

var lsHeader = []string{"RUNTIME", "NAMESPACE", "ID", "NAME", "IMAGE", "STATUS", "PID", "SHARES"}

// lsCells is a row of the ls table, its status coloured when color is set.
// names map explicit forms to what the SHARES column shows.
func lsCells(r inspect.Row, names map[string]string, color bool) []string {
	pid := "-"
	if r.PID > 0 {
		pid = fmt.Sprint(r.PID)
	}
	status := paintStatus(r.Status, color)
	if r.Pod != nil && !r.Pod.Sandbox && r.Status != "running" {
		status += fmt.Sprintf(" (attempt %d)", r.Pod.Attempt)
	}
	return []string{r.Runtime, text.Clean(r.Namespace), shortID(r.ID),
		text.Clean(r.Name), text.Clean(r.Image), status, pid, shares(r.Shares, names)}
}

// shortID abbreviates hex IDs as docker does; names used as IDs stay whole.
func shortID(id string) string {
	if len(id) == 64 && strings.Trim(id, "0123456789abcdef") == "" {
		return id[:12]
	}
	return text.Clean(id)
}

// shares is KIND:NAME for each namespace shared with another container,
// or KIND+KIND:NAME for several shared with one (a pod's containers share
// three or four with its sandbox).
func shares(m map[string][]string, names map[string]string) string {
	kinds := map[string][]string{}
	for kind, with := range m {
		for _, w := range with {
			if n, ok := names[w]; ok {
				w = n
			}
			kinds[w] = append(kinds[w], kind)
		}
	}
	var parts []string
	for w, ks := range kinds {
		sort.Strings(ks)
		parts = append(parts, strings.Join(ks, "+")+":"+text.Clean(w))
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}

// paintStatus colours a status on a terminal: tabwriter counts the escape
// bytes as width, so both branches pad to the same visible width.
func paintStatus(s string, color bool) string {
	s = text.Clean(s)
	if !color {
		return s
	}
	code := "31" // red: not running
	switch s {
	case "running":
		code = "32"
	case "paused", "created":
		code = "33"
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
