package plugin

import (
	"fmt"
	"os"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations of the debugger pods: who made them, and until
// when they are wanted, for `kubectl ctr-enter gc`.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "kubectl-ctr-enter"
	OwnerLabel     = "ctr-enter/owner" // user and host, label-safe: to list one's own

	OwnerHostAnnotation  = "ctr-enter/owner-host"
	OwnerPIDAnnotation   = "ctr-enter/owner-pid"
	OwnerStartAnnotation = "ctr-enter/owner-start" // the plugin's start, in clock ticks after boot
	OwnerBootAnnotation  = "ctr-enter/owner-boot"  // the host's boot ID: a PID is a PID of one boot
	ExpiresAnnotation    = "ctr-enter/expires"     // RFC 3339
	TargetAnnotation     = "ctr-enter/target"

	// DebuggerContainer is the container's name, in debugger pods and in
	// the DaemonSet's.
	DebuggerContainer = "ctr-enter"
	// DaemonSetLabel selects the DaemonSet's pods (deploy/daemonset.yaml).
	DaemonSetLabel = "app.kubernetes.io/name=ctr-enter"

	// The paths ctr-enter uses on a node (runtimes.DefaultContainerdAddress,
	// images.DefaultRoot, and /run/ctr-enter for its locks and fifos):
	// the debugger has the node's at the same places.
	containerdSocket = "/run/containerd/containerd.sock"
	imagesRoot       = "/var/lib/ctr-enter/images"
	runDir           = "/run/ctr-enter"
	cgroupRoot       = "/sys/fs/cgroup"
)

// Owner is the plugin's process, which a debugger pod outlives only when
// the plugin is killed: gc finds such pods by it.
type Owner struct {
	User, Host string
	PID        int
	Start      string // "" where /proc is not there to say
	Boot       string
}

// CurrentOwner is this process.
func CurrentOwner() Owner {
	o := Owner{PID: os.Getpid(), Start: processStart(os.Getpid()), Boot: bootID()}
	o.Host, _ = os.Hostname()
	if u, err := user.Current(); err == nil {
		o.User = u.Username
	} else {
		o.User = os.Getenv("USER")
	}
	return o
}

// processStart is pid's start time (field 22 of /proc/PID/stat, in clock
// ticks after boot): with the PID, it names one process, never a later
// one given the same PID.
func processStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces and parentheses: count
	// fields after its last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19] // field 22 is the 20th after the name
}

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

var notLabelSafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// labelValue is s made a label value: at most 63 of [A-Za-z0-9._-],
// beginning and ending with an alphanumeric.
func labelValue(s string) string {
	s = notLabelSafe.ReplaceAllString(s, "_")
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "._-")
}

// DebuggerOptions make a debugger pod.
type DebuggerOptions struct {
	Namespace, Node string
	Image           string
	PullPolicy      corev1.PullPolicy
	CRISocket       string // the node's containerd socket
	ContainerdRoot  string // the node's containerd root, for stopped containers' snapshots ("" = none)
	KubeletRoot     string // the kubelet's root, for stopped containers' volumes ("" = none)
	Owner           Owner
	Expires         time.Time
	Target          string // for people reading the pod: what it was made for
}

// NodeMountsEnv names, in the debugger's environment, the node's paths
// that ctr-enter's constructor mounts for itself (NODE_MOUNTS_ENV of
// enter/nsexec/nodemounts.c, in ctr-enter's module).
const NodeMountsEnv = "CTR_ENTER_NODE_MOUNTS"

// DebuggerPod is the short-lived pod ctr-enter runs in on the target's
// node: in the host's PID namespace (to reach every container's
// processes), privileged (to join namespaces), doing nothing until
// ctr-enter is executed in it. It tolerates every taint, since the node
// is chosen by the target and not by the scheduler.
//
// It has no volumes: a pod with any waits for the kubelet's volume
// manager before its sandbox is made (measured here: the debugger's
// first exec 2.4 s after its creation with the five hostPath volumes it
// had, 1.5 s without, medians of 6 on a loaded machine). ctr-enter
// executed in it mounts the node's paths for itself instead, from the
// node's mount namespace (NodeMountsEnv): the containerd socket where it
// looks by default, its own directories, the node's cgroup hierarchies
// (the container's /sys/fs/cgroup shows only its own cgroup, under which
// the target's path names nothing: --as-target joins the target's
// cgroups), containerd's root (a stopped container's snapshot is
// mounted from the paths containerd gives, under it) and the kubelet's
// (a stopped container's volumes, and the /etc/hosts, /etc/hostname and
// /etc/resolv.conf the kubelet writes for each pod, are under it; the
// copy is recursive, so that the volumes mounted there, secrets' tmpfs
// among them, come too).
func DebuggerPod(o DebuggerOptions) *corev1.Pod {
	t := true
	zero := int64(0)
	mounts := []string{
		o.CRISocket + "=" + containerdSocket,
		runDir, imagesRoot, // made on the node where missing
		cgroupRoot + "=" + cgroupRoot,
	}
	// Only a stopped container's session needs them: left out on a node
	// that does not have them.
	for _, root := range []string{o.ContainerdRoot, o.KubeletRoot} {
		if root != "" {
			mounts = append(mounts, root+"?")
		}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "ctr-enter-",
			Namespace:    o.Namespace,
			Labels: map[string]string{
				ManagedByLabel: ManagedBy,
				OwnerLabel:     labelValue(o.Owner.User + "-" + o.Owner.Host),
			},
			Annotations: map[string]string{
				OwnerHostAnnotation:  o.Owner.Host,
				OwnerPIDAnnotation:   strconv.Itoa(o.Owner.PID),
				OwnerStartAnnotation: o.Owner.Start,
				OwnerBootAnnotation:  o.Owner.Boot,
				ExpiresAnnotation:    o.Expires.UTC().Format(time.RFC3339),
				TargetAnnotation:     o.Target,
			},
		},
		Spec: corev1.PodSpec{
			NodeName: o.Node,
			HostPID:  true,
			// No CNI set-up (a fifth of the pod's start here) and no pod IP:
			// nothing in it uses a network of its own, ctr-enter joins the
			// target's; hostPID and privileged give the node already.
			HostNetwork:                   true,
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: &zero,
			AutomountServiceAccountToken:  new(false),
			EnableServiceLinks:            new(false),
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{{
				Name:            DebuggerContainer,
				Image:           o.Image,
				ImagePullPolicy: o.PullPolicy,
				// The image's busybox: nothing runs but what is executed.
				Command:         []string{"sleep", "infinity"},
				SecurityContext: &corev1.SecurityContext{Privileged: &t},
				Env:             []corev1.EnvVar{{Name: NodeMountsEnv, Value: strings.Join(mounts, ",")}},
			}},
		},
	}
}

// imageProblems are the waiting reasons that say the image will not come.
var imageProblems = map[string]bool{
	"ErrImageNeverPull": true, "ErrImagePull": true, "ImagePullBackOff": true,
	"InvalidImageName": true, "ImageInspectError": true,
}

// startProblems are those that say the container will not start.
var startProblems = map[string]bool{
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
	"PreCreateHookError": true, "PreStartHookError": true,
}

// DebuggerReady says whether the debugger pod's container runs (done),
// or why it never will (err); neither while it is on its way.
func DebuggerReady(pod *corev1.Pod, image string) (done bool, err error) {
	desc := fmt.Sprintf("debugger pod %s/%s on node %s", pod.Namespace, pod.Name, pod.Spec.NodeName)
	for _, st := range pod.Status.ContainerStatuses {
		if st.Name != DebuggerContainer {
			continue
		}
		switch s := st.State; {
		case s.Running != nil:
			return true, nil
		case s.Terminated != nil:
			return false, fmt.Errorf("%s: its container exited (%s, status %d): %s", desc, s.Terminated.Reason, s.Terminated.ExitCode, s.Terminated.Message)
		case s.Waiting != nil && s.Waiting.Reason == "ErrImageNeverPull":
			return false, fmt.Errorf("image %s is missing on node %s (pull policy Never): import it into the node's containerd (k8s.io namespace), or use --debugger-image and --debugger-pull-policy", image, pod.Spec.NodeName)
		case s.Waiting != nil && imageProblems[s.Waiting.Reason]:
			return false, fmt.Errorf("image %s is missing on node %s and could not be pulled (%s): %s", image, pod.Spec.NodeName, s.Waiting.Reason, s.Waiting.Message)
		case s.Waiting != nil && startProblems[s.Waiting.Reason]:
			return false, fmt.Errorf("%s cannot start (%s): %s", desc, s.Waiting.Reason, s.Waiting.Message)
		}
	}
	switch pod.Status.Phase {
	case corev1.PodFailed, corev1.PodSucceeded:
		return false, fmt.Errorf("%s ended (%s): %s %s", desc, pod.Status.Phase, pod.Status.Reason, pod.Status.Message)
	}
	return false, nil
}

// Waiting says what the debugger pod is waiting for, for a timeout's message.
func Waiting(pod *corev1.Pod) string {
	for _, st := range pod.Status.ContainerStatuses {
		if w := st.State.Waiting; w != nil && w.Reason != "" {
			return strings.TrimSuffix(w.Reason+": "+w.Message, ": ")
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Reason != "" {
			return strings.TrimSuffix(c.Reason+": "+c.Message, ": ")
		}
	}
	return "phase " + string(pod.Status.Phase)
}
