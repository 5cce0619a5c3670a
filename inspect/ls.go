package inspect

import (
	"context"
	"sort"

	"github.com/ctr-enter/ctr-enter/resolve"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

// Row is one container in `ctr-enter ls`.
type Row struct {
	Runtime   string `json:"runtime"`
	Namespace string `json:"namespace"`
	ID        string `json:"id"`
	Name      string `json:"name"`
	Image     string `json:"image"`
	Status    string `json:"status"`
	PID       int    `json:"pid"`
	Ref       string `json:"ref"` // the explicit form that names it
	// Shares lists, by namespace kind, the other containers in the same
	// namespace ("net": ["docker://taka-sidecar"]).
	Shares map[string][]string `json:"shares"`
	// Pod is the Kubernetes pod the container belongs to; absent for
	// others.
	Pod *Pod `json:"pod,omitempty"`
	// Display is how a person knows the container (resolve.Target's
	// Display): a pod's by its pod names, others by Ref.
	Display string `json:"-"`
}

// List returns every container of every reachable runtime, with the
// namespaces each shares with another, and the runtimes that failed.
func List(ctx context.Context, opts runtimes.Options) ([]Row, []error) {
	ts, errs := resolve.List(ctx, opts)
	s := newSharing(ts)
	rows := make([]Row, 0, len(ts))
	for _, t := range ts {
		r := Row{
			Runtime: t.Runtime, Namespace: t.Namespace, ID: t.ID, Name: t.Name, Image: t.Image,
			Status: t.Status, PID: t.PID, Ref: t.String(), Shares: map[string][]string{},
			Pod: podOf(t.Container), Display: t.Display(),
		}
		if !t.Running {
			r.PID = 0
		}
		if inodes, ok := s.inodes[t]; ok {
			for _, ns := range s.of(t, inodes) {
				if len(ns.SharedWith) > 0 {
					r.Shares[ns.Kind] = ns.SharedWith
				}
			}
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Runtime != b.Runtime {
			return a.Runtime < b.Runtime
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return rows, errs
}
