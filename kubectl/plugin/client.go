package plugin

import (
	"context"
	"net/url"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// API is what the plugin asks of the API server: core/v1's pods and
// nodes, and a pod's exec. Pods and Nodes have the methods of
// client-go's typed clients that the plugin uses, with their signatures.
//
// Why not client-go's clientset: its packages register every API group
// of Kubernetes in their init (k8s.io/client-go/kubernetes/scheme, the
// discovery client's OpenAPI models, the apply configurations), which
// cost the plugin about 40 ms of its start on every run, more than half
// of its initialisation (GODEBUG=inittrace=1: 66 ms in all before, with
// 604 packages linked). A REST client with a scheme of core/v1 alone
// does what the plugin needs.
type API interface {
	Pods(namespace string) Pods
	Nodes() Nodes
	// ExecURL is the exec subresource of a pod, with o as its query.
	ExecURL(namespace, pod string, o *corev1.PodExecOptions) *url.URL
}

// Pods are a namespace's pods ("" for all namespaces, to list).
type Pods interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Pod, error)
	List(ctx context.Context, opts metav1.ListOptions) (*corev1.PodList, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
	Create(ctx context.Context, pod *corev1.Pod, opts metav1.CreateOptions) (*corev1.Pod, error)
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (*corev1.Pod, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// Nodes are the cluster's nodes.
type Nodes interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Node, error)
}

// The scheme of core/v1 and the meta types every request and answer
// uses, as client-go's own scheme has them for all groups.
var (
	coreScheme     = runtime.NewScheme()
	coreCodecs     = serializer.NewCodecFactory(coreScheme)
	parameterCodec = runtime.NewParameterCodec(coreScheme)
)

func init() {
	metav1.AddToGroupVersion(coreScheme, schema.GroupVersion{Version: "v1"})
	if err := corev1.AddToScheme(coreScheme); err != nil {
		panic(err)
	}
}

// NewAPI is the API of the cluster cfg reaches.
func NewAPI(cfg *rest.Config) (API, error) {
	c := *cfg
	c.GroupVersion = &corev1.SchemeGroupVersion
	c.APIPath = "/api"
	c.NegotiatedSerializer = coreCodecs.WithoutConversion()
	// Protobuf, as the API server stores them: cheaper for it to encode
	// and for us to decode than JSON (2.5 ms of the plugin's 78 into the
	// DaemonSet's pod, on the test cluster).
	c.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	c.ContentType = runtime.ContentTypeProtobuf
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rc, err := rest.RESTClientFor(&c)
	if err != nil {
		return nil, err
	}
	return restAPI{rc}, nil
}

type restAPI struct{ c rest.Interface }

func (a restAPI) Pods(ns string) Pods { return restPods{a.c, ns} }
func (a restAPI) Nodes() Nodes        { return restNodes{a.c} }

func (a restAPI) ExecURL(ns, pod string, o *corev1.PodExecOptions) *url.URL {
	return a.c.Post().Namespace(ns).Resource("pods").Name(pod).SubResource("exec").VersionedParams(o, parameterCodec).URL()
}

// restPods and restNodes make the requests client-go's generated clients
// make (k8s.io/client-go/gentype).
type restPods struct {
	c  rest.Interface
	ns string
}

func (p restPods) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Pod, error) {
	pod := &corev1.Pod{}
	err := p.c.Get().Namespace(p.ns).Resource("pods").Name(name).VersionedParams(&opts, parameterCodec).Do(ctx).Into(pod)
	return pod, err
}

func (p restPods) List(ctx context.Context, opts metav1.ListOptions) (*corev1.PodList, error) {
	list := &corev1.PodList{}
	err := p.c.Get().Namespace(p.ns).Resource("pods").VersionedParams(&opts, parameterCodec).Do(ctx).Into(list)
	return list, err
}

func (p restPods) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return p.c.Get().Namespace(p.ns).Resource("pods").VersionedParams(&opts, parameterCodec).Watch(ctx)
}

func (p restPods) Create(ctx context.Context, pod *corev1.Pod, opts metav1.CreateOptions) (*corev1.Pod, error) {
	out := &corev1.Pod{}
	err := p.c.Post().Namespace(p.ns).Resource("pods").VersionedParams(&opts, parameterCodec).Body(pod).Do(ctx).Into(out)
	return out, err
}

func (p restPods) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (*corev1.Pod, error) {
	out := &corev1.Pod{}
	err := p.c.Patch(pt).Namespace(p.ns).Resource("pods").Name(name).SubResource(subresources...).
		VersionedParams(&opts, parameterCodec).Body(data).Do(ctx).Into(out)
	return out, err
}

func (p restPods) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	return p.c.Delete().Namespace(p.ns).Resource("pods").Name(name).Body(&opts).Do(ctx).Error()
}

type restNodes struct{ c rest.Interface }

func (n restNodes) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Node, error) {
	node := &corev1.Node{}
	err := n.c.Get().Resource("nodes").Name(name).VersionedParams(&opts, parameterCodec).Do(ctx).Into(node)
	return node, err
}
