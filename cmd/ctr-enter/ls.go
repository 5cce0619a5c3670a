package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/ctr-enter/ctr-enter/inspect"
	"github.com/ctr-enter/ctr-enter/internal/text"
	"github.com/ctr-enter/ctr-enter/resolve"
)

type lsCmd struct {
	asRoot
	JSON bool `name:"json" help:"Print JSON: an array of the objects documented in inspect/schema.json (#/$defs/row)."`
}

func (c *lsCmd) Help() string {
	return `Lists the containers of every containerd namespace and of Docker, with the
PID of each running one and the namespaces it shares with another container
(a sidecar on the same network shows as net:NAME).

Examples:
  ctr-enter ls
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
	color := colorOn(os.Stdout)
	return writeList(os.Stdout, c.JSON, rows, lsHeader, func(r inspect.Row) []string { return lsCells(r, color) })
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
func lsCells(r inspect.Row, color bool) []string {
	pid := "-"
	if r.PID > 0 {
		pid = fmt.Sprint(r.PID)
	}
	return []string{r.Runtime, text.Clean(r.Namespace), shortID(r.ID),
		text.Clean(r.Name), text.Clean(r.Image), paintStatus(r.Status, color), pid, shares(r.Shares)}
}

// shortID abbreviates hex IDs as docker does; names used as IDs stay whole.
func shortID(id string) string {
	if len(id) == 64 && strings.Trim(id, "0123456789abcdef") == "" {
		return id[:12]
	}
	return text.Clean(id)
}

func shares(m map[string][]string) string {
	var parts []string
	for kind, with := range m {
		for _, w := range with {
			parts = append(parts, kind+":"+text.Clean(w))
		}
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
