package plugin

import (
	"context"
	"reflect"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func debugger(name, host, pid, start, boot string, expires time.Time) corev1.Pod {
	p := DebuggerPod(DebuggerOptions{Namespace: "shop", Node: "n1", Owner: Owner{Host: host, Boot: boot}, Expires: expires})
	p.Name = name
	p.Annotations[OwnerPIDAnnotation] = pid
	p.Annotations[OwnerStartAnnotation] = start
	return *p
}

func TestSelectGarbage(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Hour), now.Add(-time.Second)
	self := Owner{Host: "me", Boot: "boot-1"}
	alive := func(pid int, start string) bool { return pid == 10 && start == "100" }
	deleting := debugger("deleting", "me", "11", "100", "boot-1", earlier)
	deleting.DeletionTimestamp = &metav1.Time{Time: now}
	notOurs := debugger("not-ours", "me", "11", "100", "boot-1", earlier)
	notOurs.Labels[ManagedByLabel] = "someone-else"
	noExpiry := debugger("no-expiry", "other", "10", "100", "boot-1", later)
	delete(noExpiry.Annotations, ExpiresAnnotation)
	pods := []corev1.Pod{
		debugger("live", "me", "10", "100", "boot-1", later),
		debugger("gone", "me", "11", "100", "boot-1", later),
		debugger("reused-pid", "me", "10", "99", "boot-1", later),
		debugger("rebooted", "me", "10", "100", "boot-0", later),
		debugger("expired-live", "me", "10", "100", "boot-1", earlier),
		debugger("other-host", "there", "11", "100", "boot-9", later),
		debugger("other-host-expired", "there", "11", "100", "boot-9", earlier),
		deleting, notOurs, noExpiry,
	}
	got := map[string]string{}
	for _, g := range SelectGarbage(pods, now, self, alive) {
		got[g.Pod.Name] = g.Reason
	}
	want := map[string]string{
		"gone":               "its owner (PID 11 on me) is gone",
		"reused-pid":         "its owner (PID 10 on me) is gone",
		"rebooted":           "its owner's host has rebooted since",
		"expired-live":       "expired at 2026-05-01T11:59:59Z",
		"other-host-expired": "expired at 2026-05-01T11:59:59Z",
		"no-expiry":          `no valid expiry ("")`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("garbage:\n got %v\nwant %v", got, want)
	}
}

// TestGC deletes through the API what SelectGarbage picks, and only that.
func TestGC(t *testing.T) {
	self := Owner{Host: "me", Boot: "boot-1"}
	far := time.Now().Add(time.Hour)
	live := debugger("live", "elsewhere", "1", "1", "b", far)
	old := debugger("old", "elsewhere", "1", "1", "b", time.Now().Add(-time.Minute))
	target := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}}
	cs := fake.NewClientset(&live, &old, &target)
	var reported []string
	if err := GC(context.Background(), fakeAPI{cs}, "shop", self, func(g Garbage) { reported = append(reported, g.Pod.Name) }); err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().Pods("shop").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, p := range list.Items {
		left = append(left, p.Name)
	}
	sort.Strings(left)
	if !reflect.DeepEqual(reported, []string{"old"}) || !reflect.DeepEqual(left, []string{"live", "web"}) {
		t.Errorf("reported %v, left %v", reported, left)
	}
}
