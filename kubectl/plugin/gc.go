package plugin

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Garbage is a debugger pod no one will delete, and why.
type Garbage struct {
	Pod    *corev1.Pod
	Reason string
}

// Alive says whether process pid, started at start (processStart's
// ticks; "" where unknown), still runs on this host.
type Alive func(pid int, start string) bool

// ProcessAlive is Alive on this host's /proc.
func ProcessAlive(pid int, start string) bool {
	got := processStart(pid)
	return got != "" && (start == "" || got == start)
}

// SelectGarbage picks, among debugger pods, those whose owner was a
// process of this host (this boot) that is gone, and anyone's whose expiry
// has passed: a pod of another host whose owner may still be using it is
// left to that host's gc, until it expires.
func SelectGarbage(pods []corev1.Pod, now time.Time, self Owner, alive Alive) []Garbage {
	var out []Garbage
	for i := range pods {
		p := &pods[i]
		if p.Labels[ManagedByLabel] != ManagedBy || p.DeletionTimestamp != nil {
			continue
		}
		a := p.Annotations
		exp, err := time.Parse(time.RFC3339, a[ExpiresAnnotation])
		switch {
		case err != nil:
			out = append(out, Garbage{p, fmt.Sprintf("no valid expiry (%q)", a[ExpiresAnnotation])})
			continue
		case !now.Before(exp):
			out = append(out, Garbage{p, "expired at " + exp.Format(time.RFC3339)})
			continue
		}
		if a[OwnerHostAnnotation] != self.Host || self.Host == "" {
			continue
		}
		if boot := a[OwnerBootAnnotation]; boot != "" && self.Boot != "" && boot != self.Boot {
			out = append(out, Garbage{p, "its owner's host has rebooted since"})
			continue
		}
		pid, err := strconv.Atoi(a[OwnerPIDAnnotation])
		if err != nil || pid <= 0 {
			out = append(out, Garbage{p, fmt.Sprintf("no valid owner PID (%q)", a[OwnerPIDAnnotation])})
			continue
		}
		if !alive(pid, a[OwnerStartAnnotation]) {
			out = append(out, Garbage{p, fmt.Sprintf("its owner (PID %d on %s) is gone", pid, self.Host)})
		}
	}
	return out
}

// GC deletes the garbage among the debugger pods of namespace ns (""
// for all), reporting each to report.
func GC(ctx context.Context, api API, ns string, self Owner, report func(Garbage)) error {
	list, err := api.Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + ManagedBy})
	if err != nil {
		return apiError("list", "pods", ns, "", err)
	}
	var failed error
	for _, g := range SelectGarbage(list.Items, time.Now(), self, ProcessAlive) {
		if err := deletePod(ctx, api, g.Pod.Namespace, g.Pod.Name); err != nil {
			failed = err
			continue
		}
		report(g)
	}
	return failed
}

// deletePod deletes a debugger pod at once: nothing in it is worth a
// grace period. Gone already is deleted.
func deletePod(ctx context.Context, api API, ns, name string) error {
	zero := int64(0)
	err := api.Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	if err != nil && !apierrors.IsNotFound(err) {
		return apiError("delete", "pods", ns, name, err)
	}
	return nil
}
