package runtimes

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/containerd/typeurl/v2"
	"google.golang.org/protobuf/types/known/anypb"
)

// criContainer is a container as containerd lists it, with the CRI
// metadata that containerd 2.4.2's CRI plugin recorded for the pods of
// e2e/env.sh (testdata/cri, decoded from its extensions as they were).
func criContainer(t *testing.T, id, kind, file string, labels map[string]string) (*Container, map[string]typeurl.Any) {
	t.Helper()
	b, err := os.ReadFile("testdata/cri/" + file + ".json")
	if err != nil {
		t.Fatal(err)
	}
	key := criContainerMetadata
	if kind == "sandbox" {
		key = criSandboxMetadata
	}
	l := map[string]string{criKindLabel: kind}
	for k, v := range labels {
		l[k] = v
	}
	return &Container{Runtime: Containerd, Namespace: "k8s.io", ID: id, Name: id, Labels: l, Status: "created"},
		map[string]typeurl.Any{key: &anypb.Any{TypeUrl: "github.com/containerd/cri/pkg/store/x/Metadata", Value: b}}
}

func TestWithPods(t *testing.T) {
	md := map[*Container]*criMetadata{}
	add := func(id, kind, file string) *Container {
		c, exts := criContainer(t, id, kind, file, nil)
		m, sandbox, ok := criInfo(c.Labels, exts)
		if !ok || sandbox != (kind == "sandbox") {
			t.Fatalf("criInfo(%s) = ok %v, sandbox %v", file, ok, sandbox)
		}
		c.PodRole.Sandbox = sandbox
		md[c] = &m
		return c
	}
	web := add("d4ae22b6091dcc91f3d9a091c06c8d4f7d6c75575ff1ccd64b4c83c8eb7828e0", "sandbox", "shop-web-sandbox")
	redis := add("588a", "container", "shop-web-redis-0")
	cache := add("37ce772736db0c7cf30e897f9a6c9f81e86d9e7e689e122d2e269a49cb07c0ee", "sandbox", "shop-cache-sandbox")
	again := add("874c", "container", "shop-cache-redis-1")
	// Ours, on shop/web: only the pod's labels.
	side := &Container{Runtime: Containerd, Namespace: "k8s.io", ID: "probe", Name: "probe", Status: "running", Running: true,
		Labels: PodLabels(&Pod{Namespace: "shop", Name: "web", UID: "3f5b6c1e-7a2d-4e8f-9b10-0000000a0001"}, "probe")}
	withPods(md, []*Container{side})

	if web.Name != "shop/web" || web.Pod.QoS != "BestEffort" || !web.Pod.SharesPID ||
		web.Pod.Cgroup != "/kubepods/besteffort/pod3f5b6c1e-7a2d-4e8f-9b10-0000000a0001" ||
		web.Pod.Annotations[DefaultContainerAnnotation] != "redis" || web.Pod.Labels["app"] != "web" {
		t.Errorf("shop/web's sandbox: %s %+v", web.Name, web.Pod)
	}
	if cache.Pod.SharesPID {
		t.Errorf("shop/cache shares no PID namespace: %+v", cache.Pod)
	}
	if redis.Pod != web.Pod || redis.Name != "shop/web/redis" || redis.PodRole != (PodRole{Container: "redis"}) ||
		!equal(redis.Names, "web/redis", "shop/web/redis") || redis.Status != "exited" {
		t.Errorf("shop/web/redis: %s %v %+v %s", redis.Name, redis.Names, redis.PodRole, redis.Status)
	}
	if again.Pod != cache.Pod || again.PodRole != (PodRole{Container: "redis", Attempt: 1}) {
		t.Errorf("shop/cache/redis attempt 1: %+v", again.PodRole)
	}
	if side.Pod != web.Pod || side.Name != "shop/web/probe" {
		t.Errorf("a sidecar with the pod's labels: %s %+v", side.Name, side.Pod)
	}
}

// Containers CRI did not make, or whose record is not CRI's, are left as
// they are.
func TestCRIInfoRefuses(t *testing.T) {
	c, exts := criContainer(t, "x", "container", "shop-web-redis-0", nil)
	if _, _, ok := criInfo(map[string]string{}, exts); ok {
		t.Errorf("no kind label, taken for CRI's")
	}
	if _, _, ok := criInfo(c.Labels, map[string]typeurl.Any{criContainerMetadata: &anypb.Any{Value: []byte("{not json")}}); ok {
		t.Errorf("a record that is not JSON, taken")
	}
	if _, _, ok := criInfo(map[string]string{criKindLabel: "sandbox"}, exts); ok {
		t.Errorf("a sandbox without its record, taken")
	}
}

func equal(got []string, want ...string) bool {
	b1, _ := json.Marshal(got)
	b2, _ := json.Marshal(want)
	return string(b1) == string(b2)
}
