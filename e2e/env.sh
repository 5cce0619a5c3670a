#!/usr/bin/env bash
# e2e/env.sh: owns ctr-enter's end-to-end test environment.
#
#   e2e/env.sh up      install + start containerd, containerd 2.x (built once), dockerd and a registry on 127.0.0.1:5000,
#                      build the test images (no registry, no docker build), start every test
#                      container. Idempotent.
#   e2e/env.sh demo    the minimum for a demo: daemons (no registry), busybox+redis images in
#                      Docker only, and the Docker container taka.
#   e2e/env.sh down    remove everything up/demo created and stop the daemons they started.
#   e2e/env.sh up-cri | down-cri
#                      bring up or remove the CRI containerd and its pods alone (up-cri needs the Go
#                      toolchain and Debian's packages, as up; the other daemons are left alone).
#   e2e/env.sh restart-cri
#                      stop and start the CRI containerd alone, its pods running on (a node's restart).
#   e2e/env.sh up-k8s | down-k8s
#                      bring up or remove the Kubernetes node alone (etcd, kube-apiserver, kubelet on a
#                      CRI containerd of its own, the pods of e2e/testdata/k8s); up-k8s needs containerd
#                      and dockerd (it starts them if none runs: ctr-enter's image is built by Docker).
#   e2e/env.sh k8s-image BINARY
#                      rebuild ctr-enter's image (Dockerfile) with BINARY and import it into the node's
#                      containerd as ctr-enter:dev, if BINARY changed since the last import.
#   e2e/env.sh status  print the containers and their PIDs.
#   e2e/env.sh registry stop|start
#                      stop or start the registry alone (tests of what works without it).
#
# Layout after `up` (containerd refs are normalized by `ctr image import` to docker.io/...):
#   containerd ns e2e:  taka    docker.io/ctr-enter-test/redis:latest    redis-server, TAKA_VAR=containerd-taka
#                       userns  docker.io/ctr-enter-test/busybox:latest  sleep 1000000, uid/gid map 0:100000:65536
#                       noshell docker.io/ctr-enter-test/noshell:latest  /pause, read-only rootfs
#                       musl    docker.io/ctr-enter-test/musl:latest     listen 7070 (musl-linked), busybox
#                       distroless docker.io/ctr-enter-test/distroless:latest  /serve :8080, read-only, uid 65534
#   docker:             taka         ctr-enter-test/redis:latest    TAKA_VAR=docker-taka, --cgroupns=private
#                       taka-sidecar ctr-enter-test/busybox:latest  sleep 1000000, --net=container:taka
#                       noshell      ctr-enter-test/noshell:latest  /pause, --read-only
#                       musl         ctr-enter-test/musl:latest     listen 7070
#                       distroless   ctr-enter-test/distroless:latest  /serve :8080, --read-only --user 65534:65534
#   containerd 2.x:     taka    docker.io/ctr-enter-test/redis:latest    TAKA_VAR=containerd2-taka
#                       musl, distroless as in containerd 1.6
#     (socket /run/ctr-enter-e2e/containerd2.sock, built from the Go module proxy, namespace e2e)
#   CRI containerd:     pods made through CRI (crictl) as a kubelet makes them, in namespace k8s.io of
#     (socket /run/ctr-enter-e2e/cri/containerd.sock: containerd 2.x, the build above, a second instance
#      with its CRI plugin on; crictl from the Go module proxy; bridge CNI cri-e2e0, 10.244.231.0/24)
#                       shop/web      redis (redis-server) + sleeper (busybox sleep 1000000), one pid
#                                     namespace for the pod (pause is PID 1), besteffort,
#                                     kubectl.kubernetes.io/default-container: redis
#                       default/web   redis, pid namespace of its own (redis-server is PID 1), burstable
#                       shop/cache    redis attempt 0 exited (killed, kept) + attempt 1 running
#                     pod configs: e2e/testdata/cri/*.json; sandbox image docker.io/ctr-enter-test/pause:latest
#   Kubernetes:         a single-node cluster (v1.37.2: etcd, kube-apiserver, kubelet; no controller-manager,
#                       no scheduler), node ctr-enter-e2e-node (127.0.0.1 in /etc/hosts), apiserver
#                       https://127.0.0.1:16443; KUBECONFIG=$STATE/k8s/kubeconfig (system:masters),
#                       $STATE/k8s/kubeconfig-restricted (reads pods in shop, nothing else); kubectl at
#                       $STATE/k8s/bin/kubectl. Its kubelet runs on a CRI containerd of its own (socket
#                       /run/ctr-enter-e2e/k8s/containerd.sock, bridge k8s-e2e0, 10.244.232.0/24), cgroup
#                       root /k8s-e2e; images as in the CRI containerd (+ noshell, distroless) and ctr-enter:dev
#                       (the Dockerfile's, with bin/ctr-enter). Pods (kubectl apply of e2e/testdata/k8s):
#                       shop/web         redis + sleeper, one pid namespace, default container redis
#                       shop/distroless  serve, read-only root, uid 65534
#                       default/crashloop  crash: exits 1, restarted by the kubelet (CrashLoopBackOff)
#   registry:           127.0.0.1:5000/busybox:latest
#                       127.0.0.1:5000/glibc-tools:latest  ss tcpdump strace curl dash ls cat...: Debian's, glibc,
#                                                          merged /usr (also ctr-enter-test/glibc-tools in Docker)
#                       127.0.0.1:5000/musl-tools:latest   ss and sh built by musl-gcc, Alpine's layout
#                                                          (also ctr-enter-test/musl-tools in Docker)
#   busybox:latest (docker.io/library/busybox:latest) is ctr-enter-test/busybox in Docker and in both
#   containerds' namespace e2e: nothing on the internet is reachable.
#
# State (logs, image archives, registry storage, which daemons this script started):
#   ${CTR_ENTER_E2E_STATE:-/var/tmp/ctr-enter-e2e}
set -euo pipefail
shopt -s inherit_errexit
umask 022
export LC_ALL=C

SCRIPT_PATH=$(readlink -f -- "${BASH_SOURCE[0]}")
E2E_DIR=$(dirname -- "$SCRIPT_PATH")
STATE=${CTR_ENTER_E2E_STATE:-/var/tmp/ctr-enter-e2e}
case $STATE in /*) ;; *) STATE=$PWD/$STATE ;; esac
STATE=${STATE%/}
[[ -n $STATE && $STATE != / ]] || { echo "env.sh: refusing state dir '$STATE'" >&2; exit 1; }
LOGS=$STATE/logs
RUN=$STATE/run
IMAGES=$STATE/images
LOCK=/run/lock/ctr-enter-e2e.lock

NS=e2e
CTRD_SOCK=/run/containerd/containerd.sock
# containerd 2.x, built from the Go module proxy and run beside Debian's 1.6 (dockerd keeps using 1.6).
CTRD2_VERSION=v2.4.2
CTRD2_DIR=$STATE/containerd2           # bin/ (the build, cached), root/, config.toml
CTRD2_BIN=$CTRD2_DIR/bin
CTRD2_RUN=/run/ctr-enter-e2e           # its socket and its --state (runtime state: tasks, shims)
CTRD2_SOCK=$CTRD2_RUN/containerd2.sock
CTRD2_STATE=$CTRD2_RUN/containerd2
# Both shims would otherwise keep runc's state in /run/containerd/runc/NAMESPACE, and the two takas
# of namespace e2e would collide there: 2.x's are started with their own runc root.
CTRD2_RUNC_ROOT=$CTRD2_RUN/runc
# The CRI containerd: containerd 2.x (the build above) as a second instance with its CRI plugin on,
# its own socket, root, state, runc root and CNI network, so that the Docker lab and 2.x's namespace e2e
# stay untouched. (2.x rather than Debian's 1.6: a kubelet v1.37 refuses CRI runtimes older than 2.0.)
CRI_DIR=$STATE/cri                     # config.toml, crictl.yaml, bin/crictl, cni/, root/, ipam/, log/, kubelet/
CRI_RUN=$CTRD2_RUN/cri                 # its sockets, --state and runc root
CRI_SOCK=$CRI_RUN/containerd.sock
CRI_STATE=$CRI_RUN/state
CRI_RUNC_ROOT=$CRI_RUN/runc
CRI_NS=k8s.io
CRI_BRIDGE=cri-e2e0
CRI_SUBNET=10.244.231.0/24
CRI_NETWORK=ctr-enter-e2e
CRI_TESTDATA=$E2E_DIR/testdata/cri
# The CRI functions below serve two instances: this one (CRI_INST=cri: the crictl pods) and the
# Kubernetes node's (CRI_INST=k8s, see on_k8s_cri): CRI_INST names its pid file, log and import stamps.
CRI_INST=cri
CRI_WHAT="the CRI containerd"
CRI_KUBEPODS=yes # its pods' cgroups are /kubepods/QOS/pod<UID>, removed by stop_cri (a kubelet's job)
# The UIDs of the pods (as in e2e/testdata/cri/pod-*.json): their cgroups are /kubepods/QOS/pod<UID>.
CRI_POD_UIDS=(3f5b6c1e-7a2d-4e8f-9b10-0000000a0001 3f5b6c1e-7a2d-4e8f-9b10-0000000a0002
	3f5b6c1e-7a2d-4e8f-9b10-0000000a0003)
CRICTL_VERSION=v1.37.0
# Built once per version and kept outside the state dir (down keeps it): the build takes minutes cold.
CRICTL_CACHE=/var/cache/ctr-enter-e2e/crictl/$CRICTL_VERSION
# Kubernetes: a single-node control plane (etcd, kube-apiserver, kubelet; no controller-manager, no
# scheduler: the pods set nodeName) built from the Go module proxy, its kubelet on a CRI containerd of
# its own (CRI_INST=k8s: a kubelet kills the sandboxes it does not know, so never the crictl pods'
# instance), its own cgroup root, CNI bridge, ports, root dir. Binaries built once per version and kept
# outside the state dir (a cold build takes 15-25 min on 2 cores).
K8S_VERSION=v1.37.2
K8S_STAGING_VERSION=v0.37.2            # the published k8s.io/X modules of the staging replaces
ETCD_VERSION=v3.7.3
K8S_CACHE=/var/cache/ctr-enter-e2e/k8s/$K8S_VERSION     # kubelet kube-apiserver kubectl
ETCD_CACHE=/var/cache/ctr-enter-e2e/etcd/$ETCD_VERSION  # etcd
K8S_DIR=$STATE/k8s                     # kubeconfigs, pki/, etcd/, kubelet/ (its --root-dir), cri/, log/, manifests/
K8S_RUN=$CTRD2_RUN/k8s                 # its containerd's socket, --state and runc root
K8S_SOCK=$K8S_RUN/containerd.sock
K8S_KUBECONFIG=$K8S_DIR/kubeconfig                        # user e2e-admin, group system:masters
K8S_KUBECONFIG_RESTRICTED=$K8S_DIR/kubeconfig-restricted  # user e2e-restricted: get/list/watch pods in shop, nothing else
K8S_NODE=ctr-enter-e2e-node            # resolves to 127.0.0.1 through a line in /etc/hosts
K8S_HOSTS_LINE="127.0.0.1 $K8S_NODE # ctr-enter-e2e"
K8S_CGROUP_ROOT=k8s-e2e                # the kubelet's cgroupRoot (/k8s-e2e): never /kubepods of the crictl pods
K8S_BRIDGE=k8s-e2e0
K8S_SUBNET=10.244.232.0/24
K8S_NETWORK=ctr-enter-e2e-k8s
ETCD_PORT=23790
ETCD_PEER_PORT=23800
K8S_API_PORT=16443
KUBELET_PORT=10250
KUBELET_HEALTHZ_PORT=10248
K8S_TESTDATA=$E2E_DIR/testdata/k8s
# ctr-enter's own image (the Dockerfile's, `make image`), as pods name it (docker.io/library/ctr-enter:dev).
K8S_IMAGE=ctr-enter:dev
K8S_IMAGE_REF=docker.io/library/$K8S_IMAGE
# The sysctls a kubelet sets (protectKernelDefaults false): saved before it starts, restored by down.
K8S_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
	kernel.keys.root_maxbytes)
DOCKER_SOCK=/var/run/docker.sock
REGISTRY_HOST=127.0.0.1
REGISTRY_PORT=5000
REGISTRY=$REGISTRY_HOST:$REGISTRY_PORT
WAIT_SECS=20
PKGS=(containerd runc docker.io docker-registry busybox-static redis-tools iproute2 procps util-linux file
	musl-tools tcpdump strace curl dash coreutils containernetworking-plugins openssl)
DOCKER_NAMES=(taka-sidecar taka noshell musl distroless) # removal order
CTR_NAMES=(taka userns noshell musl distroless)
CTR2_NAMES=(taka musl distroless)
# The ports the musl and distroless targets listen on (taka's redis: 6379).
MUSL_PORT=7070
DISTROLESS_PORT=8080
# The images built here: targets (in both containerds and Docker) and tool images (Docker and the registry).
TARGET_IMAGES=(busybox redis noshell musl distroless)
TOOL_IMAGES=(glibc-tools musl-tools)
LABEL=ctr-enter-e2e=1
PATH_ENV=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

export PATH=$PATH:/usr/local/go/bin:/usr/local/sbin:/usr/sbin:/sbin
export CONTAINERD_ADDRESS=$CTRD_SOCK
export DOCKER_HOST=unix://$DOCKER_SOCK
unset DOCKER_CONTEXT CONTAINERD_NAMESPACE CONTAINERD_SNAPSHOTTER

# ---------------------------------------------------------------------------------------------
# small helpers

log() { printf 'env.sh: %s\n' "$*" >&2; }
die() { printf 'env.sh: ERROR: %s\n' "$*" >&2; exit 1; }
has_line() { grep -qxF -- "$1" <<<"$2"; } # has_line NEEDLE TEXT (no pipe: safe with pipefail)

# ctr_ and ctrn talk to Debian's containerd 1.6, or within on_containerd2 to containerd 2.x with its
# own ctr (CTR_WHICH names the daemon in stamps and logs).
CTR_CMD=ctr
CTR_ADDR=$CTRD_SOCK
CTR_WHICH=ctr
# (2.x's ctr repeats the daemon's cgroup v1 deprecation warning on every call: once, in its log, is enough)
ctr_() { CONTAINERD_SUPPRESS_DEPRECATION_WARNINGS=1 timeout 60 "$CTR_CMD" --address "$CTR_ADDR" "$@"; }
ctrn() { ctr_ -n "$NS" "$@"; }
on_containerd2() { local CTR_CMD=$CTRD2_BIN/ctr CTR_ADDR=$CTRD2_SOCK CTR_WHICH=ctr2; "$@"; }
dk() { timeout 120 docker "$@"; }

# /proc/PID/stat fields after "(comm) ": state is the 1st, starttime the 20th.
proc_field() { # proc_field PID N
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s "$2"
	local n=${!#}
	echo "${!n}"
}
# Alive = exists and is not a zombie (PID 1 reaps late here, and kill -0 succeeds on zombies).
proc_alive() {
	local st
	st=$(proc_field "$1" 1) || return 1
	[[ $st != Z && $st != X ]]
}

tail_log() { # tail_log FILE
	[[ -f $1 ]] || return 0
	echo "---- last lines of $1 ----" >&2
	tail -n 25 "$1" >&2 || true
	echo "----" >&2
}

# The daemons this script started: $RUN/NAME.pid holds "PID STARTTIME".
record_daemon() { mkdir -p "$RUN" && echo "$2 $(proc_field "$2" 20)" >"$RUN/$1.pid"; }
our_daemon_pid() { # prints the PID if NAME was started by us and still runs
	local pid start
	[[ -f $RUN/$1.pid ]] || return 1
	read -r pid start <"$RUN/$1.pid" || return 1
	proc_alive "$pid" || return 1
	[[ $(proc_field "$pid" 20) == "$start" ]] || return 1
	echo "$pid"
}

stop_pid() { # stop_pid PID WHAT SECS: SIGTERM, bounded wait, then SIGKILL
	local pid=$1 what=$2 secs=$3 i
	proc_alive "$pid" || return 0
	log "stopping $what (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		proc_alive "$pid" || return 0
		sleep 0.1
	done
	log "$what (pid $pid) did not stop within ${secs}s: SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		proc_alive "$pid" || return 0
		sleep 0.1
	done
	die "$what (pid $pid) survived SIGKILL"
}

wait_for() { # wait_for WHAT PID LOGFILE CHECK-CMD...: bounded wait for CHECK, the daemon must stay alive
	local what=$1 pid=$2 logf=$3 deadline=$((SECONDS + WAIT_SECS))
	shift 3
	while ((SECONDS < deadline)); do
		if "$@"; then return 0; fi
		if [[ -n $pid ]] && ! proc_alive "$pid"; then
			tail_log "$logf"
			die "$what (pid $pid) exited during startup; log: $logf"
		fi
		sleep 0.2
	done
	tail_log "$logf"
	die "$what did not come up within ${WAIT_SECS}s; log: $logf"
}

take_lock() {
	mkdir -p "$(dirname "$LOCK")"
	exec 9>"$LOCK"
	flock -w 300 9 || die "another env.sh holds $LOCK for more than 300s"
}

# ---------------------------------------------------------------------------------------------
# step 1: packages

install_packages() {
	local p missing=()
	for p in "${PKGS[@]}"; do
		[[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true) == installed ]] || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	log "installing: ${missing[*]}"
	mkdir -p "$LOGS"
	if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >>"$LOGS/apt.log" 2>&1; then
		tail_log "$LOGS/apt.log"
		die "apt-get failed; log: $LOGS/apt.log"
	fi
}

# ---------------------------------------------------------------------------------------------
# step 2: daemons

# ctr blocks ~10s when the socket is missing: check for it first.
containerd_up() { [[ -S $CTRD_SOCK ]] && timeout 5 ctr version >/dev/null 2>&1; }
docker_up() { [[ -S $DOCKER_SOCK ]] && timeout 10 docker version >/dev/null 2>&1; }
registry_up() { timeout 2 bash -c "exec 3<>/dev/tcp/$REGISTRY_HOST/$REGISTRY_PORT" 2>/dev/null; }

# stop_shims WHAT LISTER...: gives the shims LISTER prints 5 s to exit (they do once their
# containers are gone), then kills what is left.
stop_shims() {
	local what=$1 shims pid i
	shift
	for ((i = 0; i < 50; i++)); do
		shims=$("$@")
		[[ -n $shims ]] || break
		sleep 0.1
	done
	for pid in $shims; do
		log "killing leftover shim pid $pid of $what"
		kill -KILL "$pid" 2>/dev/null || true
	done
}

check_exe() { # check_exe PID NAME: $! of `setsid X &` must become X itself (setsid forks only when leader)
	local exe i
	for ((i = 0; i < 50; i++)); do
		exe=$(readlink "/proc/$1/exe" 2>/dev/null || true)
		[[ ${exe##*/} == "$2" ]] && return 0
		# Before the exec: setsid itself, or still the shell that forked it.
		[[ ${exe##*/} == setsid || ${exe##*/} == bash ]] || break
		sleep 0.05
	done
	die "expected $2 at pid $1, found '${exe:-nothing}'"
}

start_containerd() {
	if containerd_up; then
		log "containerd already answers on $CTRD_SOCK$(our_daemon_pid containerd >/dev/null && echo ' (started by env.sh)')"
		return 0
	fi
	command -v containerd >/dev/null || die "containerd is not installed"
	mkdir -p "$LOGS"
	log "starting containerd (log: $LOGS/containerd.log)"
	setsid containerd </dev/null >>"$LOGS/containerd.log" 2>&1 9>&- &
	local pid=$!
	check_exe "$pid" containerd
	record_daemon containerd "$pid"
	wait_for containerd "$pid" "$LOGS/containerd.log" containerd_up
}

start_dockerd() {
	if docker_up; then
		log "dockerd already answers on $DOCKER_SOCK$(our_daemon_pid dockerd >/dev/null && echo ' (started by env.sh)')"
		return 0
	fi
	command -v dockerd >/dev/null || die "dockerd is not installed"
	mkdir -p "$LOGS" "$RUN"
	# Remember whether docker0 existed, so that `down` removes the bridge only if a dockerd that
	# env.sh started made it (the mark stays until `down` removes the state dir).
	ip link show docker0 >/dev/null 2>&1 || touch "$RUN/docker0.ours"
	log "starting dockerd (log: $LOGS/dockerd.log)"
	# --ip-forward=false: do not flip the host's net.ipv4.ip_forward (nothing here needs routing).
	setsid dockerd --containerd="$CTRD_SOCK" --iptables=false --ip-forward=false \
		</dev/null >>"$LOGS/dockerd.log" 2>&1 9>&- &
	local pid=$!
	check_exe "$pid" dockerd
	record_daemon dockerd "$pid"
	wait_for dockerd "$pid" "$LOGS/dockerd.log" docker_up
}

start_registry() {
	if registry_up; then
		log "something already listens on $REGISTRY$(our_daemon_pid registry >/dev/null && echo ' (our registry)')"
		return 0
	fi
	mkdir -p "$LOGS" "$STATE/registry/data"
	cat >"$STATE/registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $STATE/registry/data
  delete:
    enabled: true
http:
  addr: $REGISTRY
EOF
	log "starting docker-registry on $REGISTRY (log: $LOGS/registry.log)"
	setsid docker-registry serve "$STATE/registry/config.yml" </dev/null >>"$LOGS/registry.log" 2>&1 9>&- &
	local pid=$!
	check_exe "$pid" docker-registry
	record_daemon registry "$pid"
	wait_for docker-registry "$pid" "$LOGS/registry.log" registry_up
}

# go_install GOBIN LOG PACKAGE@VERSION...: static builds from the Go module proxy, outside any module
# (the repo's go.mod is not theirs).
go_install() {
	local gobin=$1 logf=$2
	shift 2
	# go needs a module cache and a build cache: under $HOME by default; CI may run without HOME.
	[[ -n ${HOME:-} || -n ${GOPATH:-} ]] || export GOPATH=/var/cache/ctr-enter-e2e/gopath
	[[ -n ${HOME:-} || -n ${GOCACHE:-} ]] || export GOCACHE=/var/cache/ctr-enter-e2e/gocache
	if ! (cd / && GOTOOLCHAIN=local GOWORK=off GOFLAGS="" GO111MODULE=on CGO_ENABLED=0 GOBIN=$gobin \
		go install -trimpath "$@") >>"$logf" 2>&1; then
		tail_log "$logf"
		die "go install of $* failed"
	fi
}

# containerd 2.x: built once into $CTRD2_BIN (about 90 s cold; the Go build cache makes a rebuild after
# `down` a matter of seconds), then run with its own socket, root, state and config, beside 1.6.
containerd2_up() { [[ -S $CTRD2_SOCK ]] && timeout 5 "$CTRD2_BIN/ctr" --address "$CTRD2_SOCK" version >/dev/null 2>&1; }

build_containerd2() {
	local b ok=yes
	for b in containerd containerd-shim-runc-v2 ctr; do [[ -x $CTRD2_BIN/$b ]] || ok=no; done
	[[ $ok == yes && $(cat "$CTRD2_BIN/.version" 2>/dev/null) == "$CTRD2_VERSION" ]] && return 0
	command -v go >/dev/null || die "the Go toolchain is needed to build containerd $CTRD2_VERSION"
	mkdir -p "$CTRD2_BIN" "$LOGS"
	log "building containerd $CTRD2_VERSION from the Go module proxy (log: $LOGS/containerd2-build.log)"
	go_install "$CTRD2_BIN" "$LOGS/containerd2-build.log" \
		"github.com/containerd/containerd/v2/cmd/containerd@$CTRD2_VERSION" \
		"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CTRD2_VERSION" \
		"github.com/containerd/containerd/v2/cmd/ctr@$CTRD2_VERSION"
	echo "$CTRD2_VERSION" >"$CTRD2_BIN/.version"
}

start_containerd2() {
	build_containerd2
	if containerd2_up; then
		log "containerd $CTRD2_VERSION already answers on $CTRD2_SOCK"
		return 0
	fi
	mkdir -p "$CTRD2_DIR/root" "$CTRD2_STATE" "$LOGS"
	# Its own grpc, ttrpc and debug sockets; no CRI (nor what depends on it), no NRI (whose socket
	# is machine-wide).
	cat >"$CTRD2_DIR/config.toml" <<EOF
version = 3
root = "$CTRD2_DIR/root"
state = "$CTRD2_STATE"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.cri.v1.images",
  "io.containerd.cri.v1.runtime",
  "io.containerd.podsandbox.controller.v1.podsandbox",
  "io.containerd.nri.v1.nri",
]
[grpc]
  address = "$CTRD2_SOCK"
[ttrpc]
  address = "$CTRD2_SOCK.ttrpc"
[debug]
  address = "$CTRD2_RUN/containerd2-debug.sock"
[metrics]
  address = ""
EOF
	log "starting containerd $CTRD2_VERSION on $CTRD2_SOCK (log: $LOGS/containerd2.log)"
	# Its own shim first in PATH: 1.6's speaks an older task API ("io.containerd.runc.v2: type with
	# url ...: not found"); runc is Debian's.
	PATH=$CTRD2_BIN:$PATH setsid "$CTRD2_BIN/containerd" --config "$CTRD2_DIR/config.toml" \
		</dev/null >>"$LOGS/containerd2.log" 2>&1 9>&- &
	local pid=$!
	check_exe "$pid" containerd
	record_daemon containerd2 "$pid"
	wait_for "containerd $CTRD2_VERSION" "$pid" "$LOGS/containerd2.log" containerd2_up
}

# PIDs of the shims containerd 2.x started (they name its socket).
containerd2_shims() { shims_with " -address $CTRD2_SOCK "; }

# Stops containerd 2.x, if env.sh started it, and leaves nothing of it: tasks killed and deleted first
# (stopping containerd leaves shims and containers running), then the daemon, leftover shims, the
# mounts under its root and state, its runtime dirs. The build in $CTRD2_BIN stays until `down`
# removes the state dir.
stop_containerd2() {
	local pid ns shims m i
	if ! containerd2_up && [[ -x $CTRD2_BIN/containerd && -n $(ls -A "$CTRD2_STATE/io.containerd.runtime.v2.task" 2>/dev/null) ]]; then
		log "containerd $CTRD2_VERSION is not running but holds tasks: starting it for the cleanup"
		start_containerd2
	fi
	if pid=$(our_daemon_pid containerd2); then
		for ns in $(on_containerd2 ctr_ namespaces ls -q 2>/dev/null || true); do
			on_containerd2 ctr_kill_all_tasks "$ns"
		done
		stop_pid "$pid" "containerd $CTRD2_VERSION" 20
	elif containerd2_up; then
		die "something env.sh did not start answers on $CTRD2_SOCK: not stopping it"
	fi
	stop_shims "containerd $CTRD2_VERSION" containerd2_shims
	unmount_under "$CTRD2_DIR" "$CTRD2_RUN"
	rm -rf "$CTRD2_RUN" "$CTRD2_DIR/root" "$CTRD2_DIR/config.toml" "$RUN/containerd2.pid"
}

# ---------------------------------------------------------------------------------------------
# the CRI containerd and its pods (CRI_* above): containerd 2.x's build, a second instance

CRICTL=$CRI_DIR/bin/crictl
cri_() { timeout 60 "$CRICTL" --config "$CRI_DIR/crictl.yaml" "$@"; }
# ctr_ and ctrn (and what uses them) on the CRI containerd's namespace k8s.io.
on_cri() { local CTR_CMD=$CTRD2_BIN/ctr CTR_ADDR=$CRI_SOCK CTR_WHICH=$CRI_INST NS=$CRI_NS; "$@"; }
cri_up() { [[ -S $CRI_SOCK ]] && timeout 5 "$CTRD2_BIN/ctr" --address "$CRI_SOCK" version >/dev/null 2>&1; }
# Ready as a kubelet sees it: CRI answers, and its runtime and network (the CNI config) are ready.
cri_ready() {
	cri_up || return 1
	[[ $(cri_ info -o go-template --template '{{range .status.conditions}}{{.type}}={{.status}} {{end}}' 2>/dev/null) == \
		*"RuntimeReady=true NetworkReady=true"* ]]
}

build_crictl() {
	if [[ ! -x $CRICTL_CACHE/crictl ]]; then
		command -v go >/dev/null || die "the Go toolchain is needed to build crictl $CRICTL_VERSION"
		mkdir -p "$LOGS" "$CRICTL_CACHE.tmp"
		log "building crictl $CRICTL_VERSION from the Go module proxy into $CRICTL_CACHE (log: $LOGS/crictl-build.log)"
		go_install "$CRICTL_CACHE.tmp" "$LOGS/crictl-build.log" "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
		mkdir -p "$CRICTL_CACHE"
		mv "$CRICTL_CACHE.tmp/crictl" "$CRICTL_CACHE/crictl"
		rmdir "$CRICTL_CACHE.tmp"
	fi
	mkdir -p "$CRI_DIR/bin"
	ln -sfn "$CRICTL_CACHE/crictl" "$CRICTL"
}

write_cri_config() {
	mkdir -p "$CRI_DIR/root" "$CRI_DIR/cni" "$CRI_DIR/ipam" "$CRI_STATE" "$CRI_RUNC_ROOT"
	# version 3, NOT 4: containerd 2.4.2 ignores [grpc] address in a version 4 config and serves on
	# /run/containerd/containerd.sock, replacing Debian's containerd's socket (measured).
	cat >"$CRI_DIR/config.toml" <<EOF2
version = 3
root = "$CRI_DIR/root"
state = "$CRI_STATE"
# No NRI (its socket is machine-wide), no /opt/containerd.
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.internal.v1.opt"]
[grpc]
  address = "$CRI_SOCK"
[ttrpc]
  address = "$CRI_SOCK.ttrpc"
[debug]
  address = "$CRI_RUN/debug.sock"
[metrics]
  address = ""
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$(ctr_ref pause)"
[plugins.'io.containerd.cri.v1.runtime']
  # Without it every pod fails to start in runc here ("can't get final child's PID from pipe: EOF"):
  # root's bounding set lacks CAP_SYS_RESOURCE, which raising a child's oom_score_adj needs.
  restrict_oom_score_adj = true
  # The pods' network namespaces under its state dir, not in the machine's /var/run/netns.
  netns_mounts_under_state_dir = true
  cdi_spec_dirs = []
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        Root = "$CRI_RUNC_ROOT"
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$CRI_DIR/cni"
[plugins.'io.containerd.grpc.v1.cri']
  # exec/attach/port-forward streams for a kubelet: on loopback, on a free port.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
EOF2
	# No gateway (the bridge plugin would turn the machine's ip_forward on), no masquerade (no
	# iptables rules); CRI adds the loopback network itself. IPAM state in the state dir.
	cat >"$CRI_DIR/cni/10-$CRI_NETWORK.conflist" <<EOF2
{
  "cniVersion": "1.0.0",
  "name": "$CRI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CRI_BRIDGE",
      "isGateway": false,
      "ipMasq": false,
      "hairpinMode": false,
      "ipam": {"type": "host-local", "ranges": [[{"subnet": "$CRI_SUBNET"}]], "dataDir": "$CRI_DIR/ipam"}
    }
  ]
}
EOF2
	printf 'runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 30\n' "$CRI_SOCK" "$CRI_SOCK" >"$CRI_DIR/crictl.yaml"
}

start_cri() {
	build_containerd2
	build_crictl
	if cri_up; then
		our_daemon_pid "$CRI_INST" >/dev/null || die "something env.sh did not start answers on $CRI_SOCK"
		log "$CRI_WHAT already answers on $CRI_SOCK"
		return 0
	fi
	write_cri_config
	# What the CRI pods make outside the state dir, if nothing made it before (removed by `down`).
	[[ -e /var/lib/cni ]] || touch "$CRI_DIR/var-lib-cni.ours"
	[[ $CRI_KUBEPODS == no ]] || compgen -G '/sys/fs/cgroup/*/kubepods' >/dev/null || touch "$CRI_DIR/kubepods.ours"
	log "starting $CRI_WHAT ($CTRD2_VERSION) on $CRI_SOCK (log: $LOGS/$CRI_INST-containerd.log)"
	# Its own shim first in PATH (see start_containerd2).
	PATH=$CTRD2_BIN:$PATH setsid "$CTRD2_BIN/containerd" --config "$CRI_DIR/config.toml" \
		</dev/null >>"$LOGS/$CRI_INST-containerd.log" 2>&1 9>&- &
	local pid=$!
	check_exe "$pid" containerd
	record_daemon "$CRI_INST" "$pid"
	wait_for "$CRI_WHAT" "$pid" "$LOGS/$CRI_INST-containerd.log" cri_ready
}

# cri_config NAME [ATTEMPT]: e2e/testdata/cri/NAME.json with its placeholders filled; prints the file.
cri_config() {
	local out=$CRI_DIR/pods/$1${2:+.$2}.json
	mkdir -p "$CRI_DIR/pods"
	# A kubelet names the image by its ID (sha256 of its config), resolved beforehand.
	sed -e "s|@LOGS@|$CRI_DIR/log/pods|g" -e "s|@KUBELET@|$CRI_DIR/kubelet|g" \
		-e "s|@IMAGE_REDIS@|$(cat "$IMAGES/redis.id")|g" -e "s|@IMAGE_BUSYBOX@|$(cat "$IMAGES/busybox.id")|g" \
		-e "s|@ATTEMPT@|${2:-0}|g" "$CRI_TESTDATA/$1.json" >"$out"
	echo "$out"
}
json_field() { sed -n "s|.*\"$1\": \"\([^\"]*\)\".*|\1|p" "$2"; } # json_field KEY FILE: the string values of KEY

cri_run_pod() { # cri_run_pod NS NAME: RunPodSandbox; prints the pod's ID
	local cfg id ip
	cfg=$(cri_config "pod-$1-$2")
	mkdir -p "$(json_field log_directory "$cfg")" # the kubelet makes the pod's log dir
	id=$(cri_ runp "$cfg") || die "crictl runp of pod $1/$2 failed (log: $LOGS/cri-containerd.log)"
	# The kubelet's hosts file for the pod (mounted at /etc/hosts), with the pod's IP.
	ip=$(cri_ inspectp -o go-template --template '{{.status.network.ip}}' "$id")
	mkdir -p "$CRI_DIR/kubelet/pods/$(json_field io.kubernetes.pod.uid "$cfg")"
	printf '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n' \
		"$ip" "$2" >"$CRI_DIR/kubelet/pods/$(json_field io.kubernetes.pod.uid "$cfg")/etc-hosts"
	echo "$id"
}

# cri_start_container POD-ID NS POD TEMPLATE [ATTEMPT]: CreateContainer + StartContainer; prints its ID.
cri_start_container() {
	local podid=$1 podcfg=$CRI_DIR/pods/pod-$2-$3.json cfg hp id
	cfg=$(cri_config "$4" "${5:-}")
	# What the kubelet makes first: the files it mounts (the container's termination log) and the
	# container's log dir.
	while read -r hp; do
		mkdir -p "$(dirname "$hp")"
		[[ -e $hp ]] || : >"$hp"
	done < <(json_field host_path "$cfg")
	mkdir -p "$(json_field log_directory "$podcfg")/$(dirname "$(json_field log_path "$cfg")")"
	id=$(cri_ create "$podid" "$cfg" "$podcfg") || die "crictl create of $2/$3 $4 failed"
	cri_ start "$id" >/dev/null || die "crictl start of $2/$3 $4 ($id) failed"
	echo "$id"
}

cri_pid() { cri_ inspect -o go-template --template '{{.info.pid}}' "$1"; }
cri_pod_id() { cri_ pods -q --namespace "^$1\$" --name "^$2\$" --state ready; } # NS NAME
cri_count() { cri_ ps -a -q "$@" | grep -c . || true; }                   # containers that match
nspid() { awk '$1 == "NSpid:" {print $NF}' "/proc/$1/status"; }           # PID 1's PID in its own pid ns

cri_pods_up() {
	local web dweb cache
	[[ $(cri_ pods -q | grep -c .) == 3 ]] || return 1
	web=$(cri_pod_id shop web) && dweb=$(cri_pod_id default web) && cache=$(cri_pod_id shop cache) || return 1
	[[ -n $web && -n $dweb && -n $cache ]] || return 1
	[[ $(cri_count --pod "$web" --state running) == 2 && $(cri_count --pod "$dweb" --state running) == 1 &&
		$(cri_count --pod "$cache" --state running) == 1 && $(cri_count --pod "$cache" --state exited) == 1 ]]
}

cri_remove_pods() { # StopPodSandbox + RemovePodSandbox of every pod, as a kubelet deletes them
	local p
	for p in $(cri_ pods -q); do
		cri_ stopp "$p" >/dev/null || log "crictl stopp $p failed"
		cri_ rmp -f "$p" >/dev/null || log "crictl rmp $p failed"
	done
}

# cri_check_cgroup WHAT PID QOS UID: PID sits in the pod's cgroup (in the memory hierarchy).
cri_check_cgroup() {
	grep -q ":memory:/kubepods/$3/pod$4/" "/proc/$2/cgroup" || die "$1 (pid $2) is not under /kubepods/$3/pod$4: $(grep :memory: "/proc/$2/cgroup")"
}

up_cri_pods() {
	if cri_pods_up; then
		log "CRI pods shop/web, default/web, shop/cache: already up"
		return 0
	fi
	[[ -z $(cri_ pods -q) ]] || { log "CRI pods: not as expected: recreating them all"; cri_remove_pods; }
	local web dweb cache redis sleeper pause old pid
	log "CRI pod shop/web: redis + sleeper in one pid namespace"
	web=$(cri_run_pod shop web)
	redis=$(cri_start_container "$web" shop web ctr-shop-web-redis)
	sleeper=$(cri_start_container "$web" shop web ctr-shop-web-sleeper)
	log "CRI pod default/web: redis with a pid namespace of its own"
	dweb=$(cri_run_pod default web)
	cri_start_container "$dweb" default web ctr-default-web-redis >/dev/null
	# A restarted container, as the kubelet leaves it: the dead attempt 0 kept beside attempt 1.
	log "CRI pod shop/cache: redis attempt 0 killed and kept, attempt 1 running"
	cache=$(cri_run_pod shop cache)
	old=$(cri_start_container "$cache" shop cache ctr-shop-cache-redis 0)
	wait_redis "CRI shop/cache/redis attempt 0" "$(cri_pid "$old")"
	cri_ stop --timeout 0 "$old" >/dev/null
	cri_start_container "$cache" shop cache ctr-shop-cache-redis 1 >/dev/null

	# What the tests rely on.
	pause=$(cri_ inspectp -o go-template --template '{{.info.pid}}' "$web")
	pid=$(cri_pid "$redis")
	wait_redis "CRI shop/web/redis" "$pid"
	[[ $(nspid "$pause") == 1 ]] || die "CRI shop/web: pause (pid $pause) is not PID 1 of the pod's pid namespace"
	[[ $(readlink "/proc/$pid/ns/pid") == "$(readlink "/proc/$pause/ns/pid")" &&
		$(readlink "/proc/$(cri_pid "$sleeper")/ns/pid") == "$(readlink "/proc/$pause/ns/pid")" ]] ||
		die "CRI shop/web: redis and sleeper do not share pause's pid namespace"
	cri_check_cgroup "CRI shop/web/redis" "$pid" besteffort "${CRI_POD_UIDS[0]}"
	pid=$(cri_pid "$(cri_ ps -q --pod "$dweb" --name '^redis$')")
	wait_redis "CRI default/web/redis" "$pid"
	[[ $(nspid "$pid") == 1 ]] || die "CRI default/web: redis-server (pid $pid) is not PID 1 of its pid namespace"
	cri_check_cgroup "CRI default/web/redis" "$pid" burstable "${CRI_POD_UIDS[1]}"
	wait_redis "CRI shop/cache/redis attempt 1" "$(cri_pid "$(cri_ ps -q --pod "$cache" --name '^redis$' --state running)")"
	cri_pods_up || die "CRI pods: not as expected after up: $(cri_ ps -a)"
}

up_cri() {
	local n
	for n in busybox redis pause; do build_image "$n"; done
	rm -rf "$STATE/build"
	start_cri
	for n in busybox redis pause; do on_cri import_containerd "$n"; done
	on_cri tag_busybox_containerd
	up_cri_pods
}

# Stops the CRI containerd, if env.sh started it, and leaves nothing of it: its pods removed through
# CRI (CNI DEL: veths, IPs), what CRI did not make (ctr-enter's sidecars) killed and deleted, then the
# daemon, leftover shims, mounts (rootfs, network namespaces), its dirs, the bridge, the pods' cgroups.
stop_cri() {
	local pid ns c shims m i h uid q
	if ! cri_up && [[ -x $CTRD2_BIN/containerd && -n $(ls -A "$CRI_STATE/io.containerd.runtime.v2.task" 2>/dev/null) ]]; then
		log "$CRI_WHAT is not running but holds tasks: starting it for the cleanup"
		start_cri
	fi
	if pid=$(our_daemon_pid "$CRI_INST"); then
		log "$CRI_WHAT: removing every pod"
		cri_remove_pods
		for ns in $(on_cri ctr_ namespaces ls -q 2>/dev/null || true); do
			on_cri ctr_kill_all_tasks "$ns"
			for c in $(on_cri ctr_ -n "$ns" containers ls -q 2>/dev/null || true); do
				on_cri ctr_ -n "$ns" containers rm "$c" >/dev/null || log "could not delete container $ns/$c of $CRI_WHAT"
			done
		done
		stop_pid "$pid" "$CRI_WHAT" 20
	elif cri_up; then
		die "something env.sh did not start answers on $CRI_SOCK: not stopping it"
	fi
	stop_shims "$CRI_WHAT" shims_with " -address $CRI_SOCK "
	unmount_under "$CRI_DIR" "$CRI_RUN"
	if ip link show "$CRI_BRIDGE" >/dev/null 2>&1; then
		log "removing the CNI bridge $CRI_BRIDGE"
		ip link del "$CRI_BRIDGE" || true
	fi
	# runc removes a container's cgroup, not the pod's above it (the kubelet's job).
	[[ $CRI_KUBEPODS == no ]] || for h in /sys/fs/cgroup/*/; do
		[[ -d $h/kubepods ]] || continue
		for uid in "${CRI_POD_UIDS[@]}"; do
			for q in besteffort burstable; do rmdir "$h/kubepods/$q/pod$uid" 2>/dev/null || true; done
		done
		[[ -f $CRI_DIR/kubepods.ours ]] && rmdir "$h/kubepods/besteffort" "$h/kubepods/burstable" "$h/kubepods" 2>/dev/null || true
	done
	# libcni's cache of the pods' results (deleted by CNI DEL; the dirs stay): the loopback ones of
	# this instance only (their netns is under its state dir), the other instance's pods may run on.
	rm -f /var/lib/cni/results/"$CRI_NETWORK"-*
	{ grep -lsF "\"netns\":\"$CRI_STATE/" /var/lib/cni/results/cni-loopback-* || true; } | xargs -r rm -f
	[[ -f $CRI_DIR/var-lib-cni.ours ]] && rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null || true
	rm -rf "$CRI_RUN" "$CRI_DIR" "$RUN/$CRI_INST.pid" "$IMAGES"/*."$CRI_INST"-imported
}

# ---------------------------------------------------------------------------------------------
# Kubernetes: etcd, kube-apiserver and a kubelet on a CRI containerd of their own (K8S_* above)

# The CRI functions above on the node's containerd: its own socket, state, root, runc root, CNI
# bridge and subnet, pid file and log (k8s-containerd.log); its pods' cgroups are the kubelet's.
on_k8s_cri() {
	local CRI_INST=k8s CRI_WHAT="the Kubernetes node's CRI containerd" CRI_KUBEPODS=no \
		CRI_DIR=$K8S_DIR/cri CRI_RUN=$K8S_RUN CRI_SOCK=$K8S_SOCK CRI_STATE=$K8S_RUN/state \
		CRI_RUNC_ROOT=$K8S_RUN/runc CRI_BRIDGE=$K8S_BRIDGE CRI_SUBNET=$K8S_SUBNET CRI_NETWORK=$K8S_NETWORK \
		CRICTL=$K8S_DIR/cri/bin/crictl
	"$@"
}

KUBECTL=$K8S_CACHE/kubectl
# (its discovery and HTTP caches in the state dir, not in ~/.kube/cache)
kc() { timeout 120 "$KUBECTL" --kubeconfig "$K8S_KUBECONFIG" --cache-dir "$K8S_DIR/kubectl-cache" "$@"; }

# go_build_module MODULE VERSION STAGING-VERSION OUT LOG LDFLAGS PACKAGE...: a module whose go.mod replaces
# its siblings by relative paths (k8s.io/kubernetes: ./staging/src/k8s.io/X; etcd's server: ../api...),
# which `go install M@V` refuses: a copy of it, each such replace pointed at the published module of
# STAGING-VERSION, built into OUT.
go_build_module() {
	local mod=$1 ver=$2 sver=$3 out=$4 logf=$5 ldflags=$6 src work
	shift 6
	[[ -n ${HOME:-} || -n ${GOPATH:-} ]] || export GOPATH=/var/cache/ctr-enter-e2e/gopath
	[[ -n ${HOME:-} || -n ${GOCACHE:-} ]] || export GOCACHE=/var/cache/ctr-enter-e2e/gocache
	command -v go >/dev/null || die "the Go toolchain is needed to build $mod $ver"
	work=$out.src
	src=$(cd / && GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=mod go mod download -json "$mod@$ver" 2>>"$logf" |
		sed -n 's/^\t"Dir": "\(.*\)",$/\1/p') && [[ -d $src ]] ||
		{ tail_log "$logf"; die "go mod download $mod@$ver failed"; }
	rm -rf "$work" "$out"
	mkdir -p "$(dirname "$work")"
	cp -r "$src" "$work"
	chmod -R u+w "$work"
	rm -f "$work/go.work" "$work/go.work.sum"
	sed -i -E "s#^(\s*(replace\s+)?)(\S+) => \.\.?/\S+\$#\1\3 => \3 $sver#" "$work/go.mod"
	if ! (cd "$work" && GOTOOLCHAIN=local GOWORK=off GOFLAGS="-mod=mod -buildvcs=false" GO111MODULE=on CGO_ENABLED=0 \
		go build -trimpath -ldflags "-s -w $ldflags" -o "$out/" "$@") >>"$logf" 2>&1; then
		tail_log "$logf"
		die "go build of $mod $ver ($*) failed"
	fi
	rm -rf "$work"
}

build_k8s() {
	local b ok=yes t0=$SECONDS m=${K8S_VERSION#v} v
	m=${m%.*} # 1.37
	mkdir -p "$LOGS"
	[[ -x $ETCD_CACHE/etcd ]] || {
		log "building etcd $ETCD_VERSION from the Go module proxy into $ETCD_CACHE (log: $LOGS/etcd-build.log)"
		go_build_module go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$ETCD_VERSION" "$ETCD_CACHE.tmp" "$LOGS/etcd-build.log" "" .
		mv "$ETCD_CACHE.tmp/server" "$ETCD_CACHE.tmp/etcd" # named after its module, go.etcd.io/etcd/server/v3
		rm -rf "$ETCD_CACHE" && mv "$ETCD_CACHE.tmp" "$ETCD_CACHE"
	}
	for b in kubelet kube-apiserver kubectl; do [[ -x $K8S_CACHE/$b ]] || ok=no; done
	if [[ $ok == no ]]; then
		log "building kubelet, kube-apiserver, kubectl $K8S_VERSION from the Go module proxy into $K8S_CACHE (15-25 min cold; log: $LOGS/k8s-build.log)"
		# The version stamps Kubernetes' own build sets (else they say v0.0.0-master).
		v="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=${m%%.*}"
		v+=" -X k8s.io/component-base/version.gitMinor=${m#*.} -X k8s.io/component-base/version.gitTreeState=clean"
		v+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=${m%%.*}"
		v+=" -X k8s.io/client-go/pkg/version.gitMinor=${m#*.} -X k8s.io/client-go/pkg/version.gitTreeState=clean"
		go_build_module k8s.io/kubernetes "$K8S_VERSION" "$K8S_STAGING_VERSION" "$K8S_CACHE.tmp" "$LOGS/k8s-build.log" "$v" \
			./cmd/kubelet ./cmd/kube-apiserver ./cmd/kubectl
		rm -rf "$K8S_CACHE" && mv "$K8S_CACHE.tmp" "$K8S_CACHE"
	fi
	((SECONDS - t0 < 5)) || log "Kubernetes binaries built in $((SECONDS - t0)) s"
}

k8s_pki() { # a CA, the apiserver's serving cert, the service-account key, the static tokens
	local pki=$K8S_DIR/pki u
	[[ -f $pki/tokens.csv ]] && return 0
	mkdir -p "$pki"
	(
		cd "$pki"
		openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=ctr-enter-e2e-ca -keyout ca.key -out ca.crt
		openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver -keyout apiserver.key -out apiserver.csr
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n' >apiserver.ext
		openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile apiserver.ext -out apiserver.crt
		openssl genrsa -out sa.key 2048
		openssl rsa -in sa.key -pubout -out sa.pub
	) >>"$LOGS/k8s-pki.log" 2>&1 || { tail_log "$LOGS/k8s-pki.log"; die "openssl failed"; }
	# token,user,uid,"groups": tokens made here, for this cluster's life.
	for u in admin kubelet restricted; do
		echo "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$pki/$u.token"
	done
	{
		echo "$(cat "$pki/admin.token"),e2e-admin,e2e-admin,\"system:masters\""
		echo "$(cat "$pki/kubelet.token"),system:node:$K8S_NODE,system:node:$K8S_NODE,\"system:nodes\""
		echo "$(cat "$pki/restricted.token"),e2e-restricted,e2e-restricted,\"e2e-restricted\""
	} >"$pki/tokens.csv"
	chmod 600 "$pki"/*.key "$pki"/*.token "$pki/tokens.csv"
}

write_kubeconfig() { # write_kubeconfig FILE USER TOKEN-FILE
	cat >"$1" <<EOF2
apiVersion: v1
kind: Config
clusters:
- name: ctr-enter-e2e
  cluster:
    server: https://127.0.0.1:$K8S_API_PORT
    certificate-authority: $K8S_DIR/pki/ca.crt
users:
- name: $2
  user:
    token: $(cat "$3")
contexts:
- name: $2@ctr-enter-e2e
  context:
    cluster: ctr-enter-e2e
    user: $2
    namespace: default
current-context: $2@ctr-enter-e2e
EOF2
	chmod 600 "$1"
}

path_without() { # $PATH without the dirs that hold any of the given programs
	local d out="" p skip
	local -a dirs
	IFS=: read -ra dirs <<<"$PATH"
	for d in "${dirs[@]}"; do
		skip=no
		for p in "$@"; do [[ -e $d/$p ]] && skip=yes; done
		[[ $skip == yes ]] || out+=${out:+:}$d
	done
	echo "$out"
}
port_free() { ! timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
etcd_up() { [[ $(timeout 3 curl -s "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null || true) == *'"health":"true"'* ]]; }
apiserver_up() { [[ $(kc get --raw /readyz 2>/dev/null || true) == ok ]]; }
kubelet_up() { [[ $(timeout 3 curl -s "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz" 2>/dev/null || true) == ok ]]; }
node_ready() {
	[[ $(kc get node "$K8S_NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true) == True ]]
}

# start_k8s_daemon NAME WHAT CHECK PORT... -- COMMAND...: unless CHECK passes already (then it must be
# ours), with PATH=$DAEMON_PATH if set.
start_k8s_daemon() {
	local name=$1 what=$2 check=$3 p pid
	shift 3
	if "$check"; then
		our_daemon_pid "$name" >/dev/null || die "something env.sh did not start answers as $what"
		log "$what already up"
		return 0
	fi
	while [[ $1 != -- ]]; do
		port_free "$1" || die "port $1 (for $what) is taken by another program"
		shift
	done
	shift
	log "starting $what (log: $LOGS/$name.log)"
	PATH=${DAEMON_PATH:-$PATH} setsid "$@" </dev/null >>"$LOGS/$name.log" 2>&1 9>&- &
	pid=$!
	check_exe "$pid" "${1##*/}"
	record_daemon "$name" "$pid"
	WAIT_SECS=60 wait_for "$what" "$pid" "$LOGS/$name.log" "$check"
}

k8s_kubelet_config() {
	mkdir -p "$K8S_DIR/kubelet" "$K8S_DIR/log/pods"
	write_kubeconfig "$K8S_DIR/kubelet.kubeconfig" "system:node:$K8S_NODE" "$K8S_DIR/pki/kubelet.token"
	cat >"$K8S_DIR/kubelet-config.yaml" <<EOF2
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Loopback only: the apiserver reaches it as $K8S_NODE (/etc/hosts), --kubelet-preferred-address-types Hostname.
address: 127.0.0.1
port: $KUBELET_PORT
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
readOnlyPort: 0
# Anyone on the machine's loopback may use it (a test machine): no client certificates to make.
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
containerRuntimeEndpoint: unix://$K8S_SOCK
imageServiceEndpoint: unix://$K8S_SOCK
# Its pods under /$K8S_CGROUP_ROOT/kubepods: it garbage-collects what it finds under its root, and
# /kubepods holds the crictl pods of the other CRI containerd.
cgroupDriver: cgroupfs
cgroupRoot: /$K8S_CGROUP_ROOT
# These machines: no swap limit support, cgroup v1 (hybrid).
failSwapOn: false
failCgroupV1: false
podLogsDir: $K8S_DIR/log/pods
volumePluginDir: $K8S_DIR/kubelet/volume-plugins
# Never delete the imported images (nothing can be pulled back), never evict a test pod.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
  imagefs.inodesFree: "1%"
serializeImagePulls: false
EOF2
}

# The cgroup root must exist in every hierarchy before the kubelet starts (it refuses one that does not).
k8s_cgroup_root() {
	local h
	for h in /sys/fs/cgroup/*/; do
		[[ -d $h$K8S_CGROUP_ROOT ]] && continue
		mkdir "$h$K8S_CGROUP_ROOT"
		if [[ -f ${h}cpuset.cpus ]]; then
			cat "${h}cpuset.cpus" >"$h$K8S_CGROUP_ROOT/cpuset.cpus"
			cat "${h}cpuset.mems" >"$h$K8S_CGROUP_ROOT/cpuset.mems"
		fi
	done
}

k8s_hosts_line() {
	grep -qxF -- "$K8S_HOSTS_LINE" /etc/hosts && return 0
	log "adding '$K8S_HOSTS_LINE' to /etc/hosts"
	echo "$K8S_HOSTS_LINE" >>/etc/hosts
}

k8s_save_sysctls() {
	local k
	[[ -f $K8S_DIR/sysctls.saved ]] && return 0
	for k in "${K8S_SYSCTLS[@]}"; do echo "$k=$(sysctl -n "$k")"; done >"$K8S_DIR/sysctls.saved.tmp"
	mv "$K8S_DIR/sysctls.saved.tmp" "$K8S_DIR/sysctls.saved"
}

start_k8s() {
	build_k8s
	mkdir -p "$K8S_DIR" "$LOGS"
	# What the kubelet makes at fixed paths, if nothing made it before (removed by down).
	[[ -e /var/log/containers ]] || touch "$K8S_DIR/var-log-containers.ours"
	[[ -e /var/lib/kubelet ]] || touch "$K8S_DIR/var-lib-kubelet.ours"
	on_k8s_cri start_cri
	# kubectl at a stable path (the tests' and the plugin's): the build is per version.
	mkdir -p "$K8S_DIR/bin"
	ln -sfn "$KUBECTL" "$K8S_DIR/bin/kubectl"
	k8s_pki
	write_kubeconfig "$K8S_KUBECONFIG" e2e-admin "$K8S_DIR/pki/admin.token"
	write_kubeconfig "$K8S_KUBECONFIG_RESTRICTED" e2e-restricted "$K8S_DIR/pki/restricted.token"
	start_k8s_daemon etcd "etcd $ETCD_VERSION on 127.0.0.1:$ETCD_PORT" etcd_up "$ETCD_PORT" "$ETCD_PEER_PORT" -- \
		"$ETCD_CACHE/etcd" --name ctr-enter-e2e --data-dir "$K8S_DIR/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "ctr-enter-e2e=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync
	# A loopback advertise address needs --endpoint-reconciler-type none; no controller-manager makes
	# service accounts: no ServiceAccount admission (pods set automountServiceAccountToken: false).
	start_k8s_daemon kube-apiserver "kube-apiserver $K8S_VERSION on 127.0.0.1:$K8S_API_PORT" apiserver_up "$K8S_API_PORT" -- \
		"$K8S_CACHE/kube-apiserver" --bind-address 127.0.0.1 --advertise-address 127.0.0.1 \
		--secure-port "$K8S_API_PORT" --endpoint-reconciler-type none \
		--etcd-servers "http://127.0.0.1:$ETCD_PORT" \
		--tls-cert-file "$K8S_DIR/pki/apiserver.crt" --tls-private-key-file "$K8S_DIR/pki/apiserver.key" \
		--cert-dir "$K8S_DIR/pki" --token-auth-file "$K8S_DIR/pki/tokens.csv" \
		--authorization-mode Node,RBAC --allow-privileged \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-account-key-file "$K8S_DIR/pki/sa.pub" --service-account-signing-key-file "$K8S_DIR/pki/sa.key" \
		--service-cluster-ip-range 10.96.0.0/24 --disable-admission-plugins ServiceAccount \
		--kubelet-preferred-address-types Hostname
	k8s_hosts_line
	k8s_cgroup_root
	k8s_kubelet_config
	k8s_save_sysctls
	# Without iptables in its PATH: it would add chains (KUBE-FIREWALL, jumped to from INPUT and OUTPUT,
	# KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT) to the machine's tables, for a kube-proxy there is none of.
	DAEMON_PATH=$(path_without iptables ip6tables) \
		start_k8s_daemon kubelet "kubelet $K8S_VERSION, node $K8S_NODE" kubelet_up "$KUBELET_PORT" "$KUBELET_HEALTHZ_PORT" -- \
		"$K8S_CACHE/kubelet" --config "$K8S_DIR/kubelet-config.yaml" --kubeconfig "$K8S_DIR/kubelet.kubeconfig" \
		--root-dir "$K8S_DIR/kubelet" --cert-dir "$K8S_DIR/kubelet/pki" --hostname-override "$K8S_NODE"
	WAIT_SECS=90 wait_for "node $K8S_NODE Ready" "$(our_daemon_pid kubelet)" "$LOGS/kubelet.log" node_ready
	# Where its CRI socket is, as kubeadm records it: for tools that mount it into a pod on the node.
	kc annotate --overwrite node "$K8S_NODE" "kubeadm.alpha.kubernetes.io/cri-socket=unix://$K8S_SOCK" >/dev/null
}

# k8s_image [BINARY]: ctr-enter's own image (the Dockerfile, as `make image`) with BINARY, built by
# Docker and imported into the node's containerd as $K8S_IMAGE_REF, when BINARY (or the recipe) changed.
k8s_image() {
	local bin=$1 stamp ctx=$K8S_DIR/image id
	[[ -x $bin ]] || die "no ctr-enter binary at $bin (make build)"
	stamp=$(cat "$bin" "$E2E_DIR/../Dockerfile" "$E2E_DIR/../script/image-rootfs" | sha256sum | cut -d' ' -f1)
	if [[ $(cat "$K8S_DIR/image.stamp" 2>/dev/null) == "$stamp" ]] &&
		has_line "$K8S_IMAGE_REF" "$(on_k8s_cri on_cri ctrn images ls -q)"; then
		return 0
	fi
	log "building $K8S_IMAGE with $bin and importing it into the node's containerd"
	rm -rf "$ctx" && mkdir -p "$ctx"
	"$E2E_DIR/../script/image-rootfs" "$bin" "$ctx/rootfs" >>"$LOGS/k8s-image.log" 2>&1 ||
		{ tail_log "$LOGS/k8s-image.log"; die "script/image-rootfs failed"; }
	id=$(dk build -q -t "$K8S_IMAGE" -f "$E2E_DIR/../Dockerfile" "$ctx" 2>>"$LOGS/k8s-image.log") ||
		{ tail_log "$LOGS/k8s-image.log"; die "docker build of $K8S_IMAGE failed"; }
	dk save "$K8S_IMAGE" -o "$ctx/image.tar"
	on_k8s_cri on_cri ctrn images import "$ctx/image.tar" >/dev/null
	has_line "$K8S_IMAGE_REF" "$(on_k8s_cri on_cri ctrn images ls -q)" || die "ctr image import did not create $K8S_IMAGE_REF"
	rm -rf "$ctx"
	echo "$id" >"$K8S_DIR/image.docker-id"
	echo "$stamp" >"$K8S_DIR/image.stamp"
}

k8s_pod_ready() { # NS NAME
	[[ $(kc -n "$1" get pod "$2" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true) == True ]]
}
k8s_crashloop_restarted() {
	local n
	n=$(kc -n default get pod crashloop -o jsonpath='{.status.containerStatuses[0].restartCount}' 2>/dev/null || true)
	[[ -n $n ]] && ((n >= 1))
}

up_k8s_pods() {
	local f
	mkdir -p "$K8S_DIR/manifests"
	for f in "$K8S_TESTDATA"/*.yaml; do
		sed -e "s|@NODE@|$K8S_NODE|g" "$f" >"$K8S_DIR/manifests/${f##*/}"
	done
	kc apply -f "$K8S_DIR/manifests/" >>"$LOGS/k8s-apply.log" 2>&1 ||
		{ tail_log "$LOGS/k8s-apply.log"; die "kubectl apply of $K8S_TESTDATA failed"; }
	WAIT_SECS=60 wait_for "pod shop/web Ready" "" "$LOGS/kubelet.log" k8s_pod_ready shop web
	WAIT_SECS=60 wait_for "pod shop/distroless Ready" "" "$LOGS/kubelet.log" k8s_pod_ready shop distroless
	WAIT_SECS=60 wait_for "pod default/crashloop restarted" "" "$LOGS/kubelet.log" k8s_crashloop_restarted
	# (the redis image has no redis-cli: busybox's nc speaks the protocol)
	[[ $(kc -n shop exec web -c redis -- sh -c 'printf "PING\r\n" | nc -w 5 127.0.0.1 6379' 2>&1) == $'+PONG\r' ]] ||
		die "kubectl exec shop/web -c redis: redis does not answer PING"
}

up_k8s() {
	local n
	for n in busybox redis noshell distroless pause; do build_image "$n"; done
	rm -rf "$STATE/build"
	start_k8s
	for n in busybox redis noshell distroless pause; do on_k8s_cri on_cri import_containerd "$n"; done
	on_k8s_cri on_cri tag_busybox_containerd
	if [[ -x $E2E_DIR/../bin/ctr-enter ]]; then
		k8s_image "$(readlink -f -- "$E2E_DIR/../bin/ctr-enter")"
	else
		log "no bin/ctr-enter: $K8S_IMAGE not imported (make build, then e2e/env.sh k8s-image bin/ctr-enter)"
	fi
	up_k8s_pods
}

k8s_summary() {
	node_ready 2>/dev/null || return 0
	echo "Kubernetes $K8S_VERSION (KUBECONFIG=$K8S_KUBECONFIG; restricted: $K8S_KUBECONFIG_RESTRICTED; kubectl: $K8S_DIR/bin/kubectl):"
	kc get nodes -o wide 2>/dev/null | sed 's/^/  /'
	kc get pods -A -o wide 2>/dev/null | sed 's/^/  /'
}

# Stops the kubelet, the apiserver, etcd and the node's containerd, if env.sh started them, and leaves
# nothing of them: pods (through CRI), mounts under the state dir (the kubelet's pod dirs), cgroups
# under /$K8S_CGROUP_ROOT, the /etc/hosts line, the sysctls the kubelet set, its symlinks in
# /var/log/containers, ctr-enter's image in Docker if this made it, the state dir.
stop_k8s() {
	local name pid m h d k v
	for name in kubelet kube-apiserver etcd; do
		if pid=$(our_daemon_pid "$name"); then stop_pid "$pid" "$name" 20; fi
		rm -f "$RUN/$name.pid"
	done
	on_k8s_cri stop_cri
	unmount_under "$K8S_DIR" "$K8S_RUN"
	# The pods' cgroups (runc removed the containers'), deepest first.
	for h in /sys/fs/cgroup/*/; do
		[[ -d $h$K8S_CGROUP_ROOT ]] || continue
		while read -r d; do rmdir "$d" 2>/dev/null || log "could not remove cgroup $d"; done < <(find "$h$K8S_CGROUP_ROOT" -depth -type d)
	done
	if grep -qxF -- "$K8S_HOSTS_LINE" /etc/hosts; then
		log "removing '$K8S_HOSTS_LINE' from /etc/hosts"
		# In place (a bind-mounted /etc/hosts cannot be renamed over).
		grep -vxF -- "$K8S_HOSTS_LINE" /etc/hosts >"$STATE/hosts.tmp" || true
		cat "$STATE/hosts.tmp" >/etc/hosts
		rm -f "$STATE/hosts.tmp"
	fi
	if [[ -f $K8S_DIR/sysctls.saved ]]; then
		while IFS== read -r k v; do sysctl -q -w "$k=$v" >/dev/null || log "could not restore $k=$v"; done <"$K8S_DIR/sysctls.saved"
	fi
	# The kubelet's links to its pods' logs (a fixed path: /var/log/containers).
	for m in /var/log/containers/*; do
		[[ -L $m && $(readlink "$m") == "$K8S_DIR"/* ]] && rm -f "$m"
	done
	[[ -f $K8S_DIR/var-log-containers.ours ]] && rmdir /var/log/containers 2>/dev/null || true
	# Its device plugin registry socket (a fixed path, whatever its --root-dir).
	rm -f /var/lib/kubelet/device-plugins/kubelet.sock
	[[ -f $K8S_DIR/var-lib-kubelet.ours ]] && rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet 2>/dev/null || true
	if [[ -f $K8S_DIR/image.docker-id ]] && docker_up &&
		[[ $(dk image inspect -f '{{.Id}}' "$K8S_IMAGE" 2>/dev/null || true) == "$(cat "$K8S_DIR/image.docker-id")" ]]; then
		log "docker: removing $K8S_IMAGE (built for the node)"
		dk rmi "$K8S_IMAGE" >/dev/null || log "could not remove $K8S_IMAGE from docker"
	fi
	rm -rf "$K8S_DIR" "$K8S_RUN" "$IMAGES"/*.k8s-imported
}

# ---------------------------------------------------------------------------------------------
# step 3: images, as single-layer docker-archive tarballs (the `docker save` format)

json_strings() { # json_strings A B ... -> "A","B" (the arguments need no escaping but quotes/backslashes)
	local out="" s
	for s in "$@"; do
		s=${s//\\/\\\\}
		s=${s//\"/\\\"}
		out+="${out:+,}\"$s\""
	done
	printf '%s' "$out"
}

# make_archive NAME REF ROOTFS CONFIG-FIELDS: writes $IMAGES/NAME.tar and $IMAGES/NAME.id (config digest)
make_archive() {
	local name=$1 ref=$2 root=$3 cfg=$4
	local work=$STATE/build/$name.archive arch layer_hex cfg_hex
	arch=$(dpkg --print-architecture)
	rm -rf "$work" && mkdir -p "$work"
	(cd "$root" && find . -mindepth 1 -printf '%P\n' | sort) >"$work/files"
	tar -C "$root" -cf "$work/layer.tar" --no-recursion --format=gnu --numeric-owner \
		--owner=0 --group=0 --mtime=@0 -T "$work/files"
	layer_hex=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
	mkdir -p "$work/out/$layer_hex"
	mv "$work/layer.tar" "$work/out/$layer_hex/layer.tar"
	printf '{"architecture":"%s","os":"linux","created":"1970-01-01T00:00:00Z","config":{%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"ctr-enter e2e/env.sh"}]}' \
		"$arch" "$cfg" "$layer_hex" >"$work/config.json"
	cfg_hex=$(sha256sum "$work/config.json" | cut -d' ' -f1)
	mv "$work/config.json" "$work/out/$cfg_hex.json"
	printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' \
		"$cfg_hex" "$ref" "$layer_hex" >"$work/out/manifest.json"
	printf '{"%s":{"%s":"%s"}}' "${ref%:*}" "${ref##*:}" "$layer_hex" >"$work/out/repositories"
	tar -C "$work/out" -cf "$IMAGES/$name.tar.tmp" --no-recursion --format=gnu --numeric-owner --owner=0 --group=0 \
		--mtime=@0 manifest.json repositories "$cfg_hex.json" "$layer_hex" "$layer_hex/layer.tar"
	mv "$IMAGES/$name.tar.tmp" "$IMAGES/$name.tar"
	echo "sha256:$cfg_hex" >"$IMAGES/$name.id"
	rm -rf "$work"
}

busybox_bin() {
	local b
	for b in /bin/busybox /usr/bin/busybox; do
		if [[ -x $b ]] && file -L "$b" | grep -q 'statically linked'; then
			echo "$b"
			return 0
		fi
	done
	die "no static busybox found (package busybox-static)"
}
redis_bin() { # Debian's redis-tools ships redis-server's ELF as redis-check-rdb
	local b
	for b in /usr/bin/redis-server /usr/bin/redis-check-rdb; do
		[[ -x $b ]] && { readlink -f "$b"; return 0; }
	done
	die "no redis-server/redis-check-rdb found (package redis-tools)"
}

# The busybox tree (busybox + one symlink per applet + /etc/passwd, /etc/group), made once per run.
BUSYBOX_BASE=
busybox_base() {
	local root=$STATE/build/busybox.base bb applet dirs=() links=()
	[[ -n $BUSYBOX_BASE ]] && return 0
	bb=$(busybox_bin)
	rm -rf "$root" && mkdir -p "$root"
	while read -r applet; do
		[[ -n $applet && $applet != bin/busybox ]] || continue
		links+=("$applet")
		[[ $applet != */* ]] || dirs+=("$root/${applet%/*}")
	done < <("$bb" --list-full)
	((${#links[@]} > 100)) || die "$bb --list-full lists only ${#links[@]} applets"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var} "${dirs[@]}"
	chmod 1777 "$root/tmp"
	chmod 700 "$root/root"
	cp "$bb" "$root/bin/busybox"
	chmod 755 "$root/bin/busybox"
	for applet in "${links[@]}"; do ln -s /bin/busybox "$root/$applet"; done
	cat >"$root/etc/passwd" <<'EOF2'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF2
	cat >"$root/etc/group" <<'EOF2'
root:x:0:
daemon:x:1:
nogroup:x:65534:
EOF2
	BUSYBOX_BASE=$root
}

fill_busybox_rootfs() { # fill_busybox_rootfs DIR
	busybox_base
	cp -a "$BUSYBOX_BASE/." "$1/"
}

ldd_files() { # ldd_files EXE: the libraries and the loader ldd lists for EXE, one a line
	ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u
}
fill_redis_rootfs() { # fill_redis_rootfs DIR: busybox + redis-server + the libs ldd lists (same paths)
	local root=$1 rs lib
	fill_busybox_rootfs "$root"
	rs=$(redis_bin)
	cp "$rs" "$root/usr/bin/redis-server"
	chmod 755 "$root/usr/bin/redis-server"
	while read -r lib; do
		mkdir -p "$root${lib%/*}"
		cp -L "$lib" "$root$lib"
	done < <(ldd_files "$rs")
	[[ -n $(find "$root" -name 'ld-linux*' -print -quit) ]] || die "dynamic loader missing from redis image (ldd output?)"
}

build_static_go() { # build_static_go NAME OUT: the static Go program e2e/testdata/NAME/main.go
	local name=$1 out=$2 src=$E2E_DIR/testdata/$1/main.go work=$STATE/build/$1-src
	[[ -f $src ]] || die "missing $src"
	command -v go >/dev/null || die "the Go toolchain is needed to build $src"
	rm -rf "$work" && mkdir -p "$work"
	cp "$src" "$work/main.go"
	printf 'module ctr-enter-e2e/%s\n\ngo 1.21\n' "$name" >"$work/go.mod"
	# Built outside the repo's module so that its go.mod (edited by others) cannot break this.
	# (go needs a cache dir: $HOME/.cache by default; CI may run without HOME)
	[[ -n ${HOME:-} || -n ${GOCACHE:-} ]] || export GOCACHE=$STATE/gocache
	(cd "$work" && GOTOOLCHAIN=local GOWORK=off GOFLAGS="" GO111MODULE=on CGO_ENABLED=0 \
		go build -trimpath -ldflags='-s -w' -o "$out" .) >>"$LOGS/go-build.log" 2>&1 ||
		{ tail_log "$LOGS/go-build.log"; die "go build of $src failed"; }
	rm -rf "$work"
	file "$out" | grep -q 'statically linked' || die "$out is not static"
	chmod 755 "$out"
}

# build_musl OUT: the programs of e2e/testdata/musl, dynamically linked against musl by Debian's
# musl-gcc (interpreter /lib/ld-musl-x86_64.so.1, as on Alpine): listen (the musl target's), sh and
# ss (the musl tool image's) and libnetfmt.so, which ss needs beside libc (only a library path finds it).
build_musl() {
	local out=$1 src=$E2E_DIR/testdata/musl f
	command -v musl-gcc >/dev/null || die "musl-gcc is needed to build $src (package musl-tools)"
	mkdir -p "$out"
	if ! {
		musl-gcc -O2 -s -o "$out/listen" "$src/listen.c" &&
			musl-gcc -O2 -s -o "$out/sh" "$src/sh.c" &&
			musl-gcc -O2 -s -fPIC -shared -Wl,-soname,libnetfmt.so -o "$out/libnetfmt.so" "$src/netfmt.c" &&
			musl-gcc -O2 -s -o "$out/ss" "$src/ss.c" -L"$out" -lnetfmt
	} >>"$LOGS/musl-build.log" 2>&1; then
		tail_log "$LOGS/musl-build.log"
		die "musl-gcc of $src failed"
	fi
	for f in listen sh ss; do
		file "$out/$f" | grep -q 'interpreter /lib/ld-musl-x86_64.so.1' || die "$out/$f is not linked against musl"
	done
}

# musl_loader ROOT: musl's loader (which is its libc too) at /lib/ld-musl-x86_64.so.1, as Alpine has it.
musl_loader() {
	local root=$1 ld
	ld=$(readlink -f /lib/ld-musl-x86_64.so.1) || die "no musl loader (package musl)"
	mkdir -p "$root/lib"
	cp "$ld" "$root/lib/ld-musl-x86_64.so.1"
	chmod 755 "$root/lib/ld-musl-x86_64.so.1"
	ln -s ld-musl-x86_64.so.1 "$root/lib/libc.musl-x86_64.so.1"
}

fill_musl_rootfs() { # fill_musl_rootfs DIR: busybox (the target's shell) + listen, musl's /lib, no glibc
	local root=$1
	fill_busybox_rootfs "$root"
	build_musl "$STATE/build/musl-bin"
	musl_loader "$root"
	install -m 755 "$STATE/build/musl-bin/listen" "$root/usr/bin/listen"
	[[ -z $(find "$root" -name 'ld-linux*' -o -name 'libc.so.6' | head -n 1) ]] || die "glibc in the musl image"
}

fill_musl_tools_rootfs() { # fill_musl_tools_rootfs DIR: sh, ss, libnetfmt.so and musl's loader: nothing static
	local root=$1
	build_musl "$STATE/build/musl-bin"
	musl_loader "$root"
	mkdir -p "$root"/{bin,usr/lib,etc,tmp}
	chmod 1777 "$root/tmp"
	install -m 755 "$STATE/build/musl-bin/sh" "$STATE/build/musl-bin/ss" "$root/bin/"
	install -m 755 "$STATE/build/musl-bin/libnetfmt.so" "$root/usr/lib/libnetfmt.so"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
}

# copy_host_file ROOT PATH: the host's PATH under ROOT in its directory's canonical place (the host
# has a merged /usr, and so has the image); a symlink stays one (absolute ones too, such as Debian's
# /lib64/ld-linux-x86-64.so.2), and what it points to is copied as well.
copy_host_file() {
	local root=$1 p=$2 dir
	dir=$(readlink -f "$(dirname "$p")")
	mkdir -p "$root$dir"
	[[ -e $root$dir/${p##*/} || -L $root$dir/${p##*/} ]] && return 0
	if [[ -L $p ]]; then
		cp -P "$p" "$root$dir/"
		copy_host_file "$root" "$(readlink -f "$p")"
	else
		cp "$p" "$root$dir/"
	fi
}

GLIBC_TOOLS=(/usr/bin/ss /usr/bin/tcpdump /usr/bin/strace /usr/bin/curl /usr/bin/dash
	/usr/bin/ls /usr/bin/cat /usr/bin/true /usr/bin/sleep /usr/bin/id)
glibc_tools_files() { # the glibc tools and their libraries, each once
	local t
	for t in "${GLIBC_TOOLS[@]}"; do
		echo "$t"
		ldd_files "$t"
	done | sort -u
}
fill_glibc_tools_rootfs() { # fill_glibc_tools_rootfs DIR: Debian's dynamically linked tools, libs, loader; no busybox
	local root=$1 t lib
	mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,tmp,root}
	chmod 1777 "$root/tmp"
	# Debian's merged /usr, as its images have it.
	ln -s usr/bin "$root/bin"
	ln -s usr/sbin "$root/sbin"
	ln -s usr/lib "$root/lib"
	ln -s usr/lib64 "$root/lib64"
	for t in "${GLIBC_TOOLS[@]}"; do
		[[ -x $t ]] || die "missing $t"
		copy_host_file "$root" "$t"
		while read -r lib; do
			copy_host_file "$root" "$lib"
		done < <(ldd_files "$t")
	done
	ln -s dash "$root/usr/bin/sh"
	[[ -L $root/usr/lib64/ld-linux-x86-64.so.2 ]] || die "the glibc loader is missing from the glibc tools image"
	[[ -z $(find "$root" -name busybox | head -n 1) ]] || die "busybox in the glibc tools image"
	cat >"$root/etc/passwd" <<'EOF2'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
tcpdump:x:107:113::/nonexistent:/usr/sbin/nologin
EOF2
	printf 'root:x:0:\nnogroup:x:65534:\ntcpdump:x:113:\n' >"$root/etc/group"
}

# A recipe stamp per image: rebuild when the script, the sources or the packages change.
recipe() {
	{
		sha256sum "$SCRIPT_PATH"
		case $1 in
		noshell) sha256sum "$E2E_DIR/testdata/pause/main.go" ;;
		distroless) sha256sum "$E2E_DIR/testdata/serve/main.go" ;;
		pause) sha256sum "$CRI_TESTDATA/pause.c" ;;
		musl | musl-tools) sha256sum "$E2E_DIR"/testdata/musl/* ;;
		esac
		dpkg-query -W busybox-static redis-tools 2>/dev/null || true
		case $1 in
		musl | musl-tools | pause) dpkg-query -W musl musl-tools 2>/dev/null || true ;;
		glibc-tools) glibc_tools_files | xargs -r sha256sum ;; # the tools and every library they load
		esac
	} | sha256sum | cut -d' ' -f1
}

build_image() { # build_image busybox|redis|noshell|musl|distroless|glibc-tools|musl-tools|pause
	local name=$1 stamp root
	stamp=$(recipe "$name")
	if [[ -f $IMAGES/$name.tar && -f $IMAGES/$name.id && $(cat "$IMAGES/$name.recipe" 2>/dev/null) == "$stamp" ]]; then
		return 0
	fi
	mkdir -p "$IMAGES" "$LOGS"
	root=$STATE/build/$name.rootfs
	rm -rf "$root" && mkdir -p "$root"
	log "building image ctr-enter-test/$name:latest"
	case $name in
	busybox)
		fill_busybox_rootfs "$root"
		make_archive busybox ctr-enter-test/busybox:latest "$root" \
			"\"Env\":[$(json_strings "PATH=$PATH_ENV")],\"Cmd\":[\"sh\"]"
		;;
	redis)
		fill_redis_rootfs "$root"
		make_archive redis ctr-enter-test/redis:latest "$root" \
			"\"Env\":[$(json_strings "PATH=$PATH_ENV" REDIS_TEST_VAR=from-image)],\"Cmd\":[$(json_strings redis-server --save "" --appendonly no --protected-mode no)],\"ExposedPorts\":{\"6379/tcp\":{}}"
		;;
	noshell)
		build_static_go pause "$root/pause"
		make_archive noshell ctr-enter-test/noshell:latest "$root" \
			"\"Env\":[$(json_strings "PATH=$PATH_ENV")],\"Entrypoint\":[\"/pause\"]"
		;;
	musl)
		fill_musl_rootfs "$root"
		make_archive musl ctr-enter-test/musl:latest "$root" \
			"\"Env\":[$(json_strings "PATH=$PATH_ENV")],\"Cmd\":[$(json_strings listen "$MUSL_PORT")],\"ExposedPorts\":{\"$MUSL_PORT/tcp\":{}}"
		;;
	distroless)
		# scratch + one static binary, run as nobody: what a distroless image's USER nonroot gives.
		build_static_go serve "$root/serve"
		make_archive distroless ctr-enter-test/distroless:latest "$root" \
			"\"User\":\"65534:65534\",\"Env\":[$(json_strings "PATH=$PATH_ENV")],\"Entrypoint\":[$(json_strings /serve ":$DISTROLESS_PORT")],\"ExposedPorts\":{\"$DISTROLESS_PORT/tcp\":{}}"
		;;
	glibc-tools)
		fill_glibc_tools_rootfs "$root"
		make_archive glibc-tools ctr-enter-test/glibc-tools:latest "$root" \
			"\"Env\":[$(json_strings "PATH=$PATH_ENV")],\"Cmd\":[\"sh\"]"
		;;
	pause)
		# The CRI pods' sandbox image: one static program that sleeps and reaps, as registry.k8s.io/pause.
		musl-gcc -static -O2 -s -o "$root/pause" "$CRI_TESTDATA/pause.c" >>"$LOGS/musl-build.log" 2>&1 ||
			{ tail_log "$LOGS/musl-build.log"; die "musl-gcc of $CRI_TESTDATA/pause.c failed"; }
		file "$root/pause" | grep -q 'statically linked' || die "$root/pause is not static"
		make_archive pause ctr-enter-test/pause:latest "$root" \
			"\"Env\":[$(json_strings "PATH=$PATH_ENV")],\"Entrypoint\":[\"/pause\"]"
		;;
	musl-tools)
		fill_musl_tools_rootfs "$root"
		make_archive musl-tools ctr-enter-test/musl-tools:latest "$root" \
			"\"Env\":[$(json_strings "PATH=$PATH_ENV")],\"Cmd\":[\"sh\"]"
		;;
	esac
	rm -rf "$root"
	echo "$stamp" >"$IMAGES/$name.recipe"
}

# The name `ctr image import` gives a docker-archive RepoTag (normalized: docker.io/...).
ctr_ref() { echo "docker.io/ctr-enter-test/$1:latest"; }

import_containerd() { # import_containerd NAME (into the containerd ctr_ talks to)
	local name=$1 ref id refs stamp
	ref=$(ctr_ref "$name")
	id=$(cat "$IMAGES/$name.id")
	stamp=$IMAGES/$name.$CTR_WHICH-imported
	refs=$(ctrn images ls -q)
	if has_line "$ref" "$refs" && [[ $(cat "$stamp" 2>/dev/null) == "$id" ]]; then
		return 0
	fi
	log "importing $ref into $CTR_ADDR, namespace $NS"
	ctrn images import "$IMAGES/$name.tar" >/dev/null
	refs=$(ctrn images ls -q)
	has_line "$ref" "$refs" || die "ctr image import did not create $ref (have: ${refs//$'\n'/ })"
	echo "$id" >"$stamp"
}

# No registry on the internet is reachable: the short name busybox (docker.io/library/busybox:latest)
# is the locally built busybox, so that the documented `--image busybox` works as typed.
BUSYBOX_REF=docker.io/library/busybox:latest
tag_busybox_containerd() {
	local refs
	refs=$(ctrn images ls 2>/dev/null | awk -v r="$BUSYBOX_REF" '$1 == r {print $3}')
	[[ $refs == "$(ctrn images ls | awk -v r="$(ctr_ref busybox)" '$1 == r {print $3}')" ]] && return 0
	log "tagging $(ctr_ref busybox) as $BUSYBOX_REF in $CTR_ADDR, namespace $NS"
	ctrn images tag --force "$(ctr_ref busybox)" "$BUSYBOX_REF" >/dev/null
}
tag_busybox_docker() {
	local id
	id=$(cat "$IMAGES/busybox.id")
	[[ $(dk image inspect -f '{{.Id}}' busybox:latest 2>/dev/null || true) == "$id" ]] && return 0
	log "tagging ctr-enter-test/busybox:latest as busybox:latest in docker"
	dk tag ctr-enter-test/busybox:latest busybox:latest
}

import_docker() { # import_docker NAME
	local name=$1 ref=ctr-enter-test/$1:latest id
	id=$(cat "$IMAGES/$name.id")
	[[ $(dk image inspect -f '{{.Id}}' "$ref" 2>/dev/null || true) == "$id" ]] && return 0
	log "loading $ref into docker"
	dk load -i "$IMAGES/$name.tar" >/dev/null
	[[ $(dk image inspect -f '{{.Id}}' "$ref") == "$id" ]] || die "docker load did not give $ref the id $id"
}

push_registry() { # push_registry NAME: ctr-enter-test/NAME:latest as $REGISTRY/NAME:latest
	local ref=$REGISTRY/$1:latest
	dk tag "ctr-enter-test/$1:latest" "$ref"
	log "pushing $ref"
	dk push "$ref" >"$LOGS/push.log" 2>&1 || { tail_log "$LOGS/push.log"; die "docker push $ref failed"; }
}

# ---------------------------------------------------------------------------------------------
# step 4: containers

ctr_task_status() { { ctrn tasks ls 2>/dev/null || true; } | awk -v id="$1" '$1 == id {print $3}'; }
ctr_task_pid() { { ctrn tasks ls 2>/dev/null || true; } | awk -v id="$1" '$1 == id {print $2}'; }

ctr_remove_container() { # kill + delete the task, delete the container (and its snapshot)
	local id=$1
	ctrn tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
	ctrn tasks rm -f "$id" >/dev/null 2>&1 || true
	ctrn containers rm "$id" >/dev/null
}

# ctr_up ID REF [ctr run options...] -- [COMMAND...]: start it unless its task runs already.
ctr_up() {
	local id=$1 ref=$2 status opts=()
	shift 2
	while (($#)) && [[ $1 != -- ]]; do
		opts+=("$1")
		shift
	done
	(($#)) && shift
	status=$(ctr_task_status "$id")
	if [[ $status == RUNNING ]]; then
		log "$CTR_WHICH $NS/$id: already running (pid $(ctr_task_pid "$id"))"
		return 0
	fi
	if has_line "$id" "$(ctrn containers ls -q)"; then
		log "$CTR_WHICH $NS/$id: exists but its task is ${status:-missing}: recreating"
		ctr_remove_container "$id"
	fi
	log "$CTR_WHICH $NS/$id: starting"
	ctrn run -d --label "$LABEL" --log-uri "file://$LOGS/$CTR_WHICH-$id.log" "${opts[@]}" "$ref" "$id" "$@" >/dev/null
	status=$(ctr_task_status "$id")
	[[ $status == RUNNING ]] || { tail_log "$LOGS/$CTR_WHICH-$id.log"; die "containerd $CTR_ADDR $NS/$id did not start (task: ${status:-missing})"; }
}

docker_state() { # true | false | missing
	local st
	if st=$(dk container inspect -f '{{.State.Running}}' "$1" 2>/dev/null); then echo "$st"; else echo missing; fi
}
docker_pid() { dk container inspect -f '{{.State.Pid}}' "$1" 2>/dev/null || true; }
netns_of() { readlink "/proc/$1/ns/net" 2>/dev/null || true; }

# docker_up_container NAME FORCE [docker run args...]: start it unless it runs already (FORCE=force:
# recreate it even then). Sets DOCKER_CREATED=yes when it (re)created the container.
DOCKER_CREATED=no
docker_up_container() {
	local name=$1 force=$2 st
	shift 2
	DOCKER_CREATED=no
	st=$(docker_state "$name")
	if [[ $st == true && $force != force ]]; then
		log "docker $name: already running (pid $(docker_pid "$name"))"
		return 0
	fi
	if [[ $st == true ]]; then
		log "docker $name: must follow a new taka: recreating"
		dk rm -f "$name" >/dev/null
	elif [[ $st != missing ]]; then
		log "docker $name: exists but is stopped: recreating"
		dk rm -f "$name" >/dev/null
	fi
	log "docker $name: starting"
	# (with dockerd's --ip-forward=false, docker run warns that IPv4 forwarding is off: expected here)
	if ! dk run -d --name "$name" --label "$LABEL" "$@" >/dev/null 2>"$LOGS/docker-run.err"; then
		cat "$LOGS/docker-run.err" >&2
		die "docker run $name failed"
	fi
	grep -v 'IPv4 forwarding is disabled' "$LOGS/docker-run.err" >&2 || true
	st=$(docker_state "$name")
	if [[ $st != true ]]; then
		dk logs "$name" 2>&1 | tail -n 20 >&2 || true
		die "docker $name did not start"
	fi
	DOCKER_CREATED=yes
}

wait_redis() { # wait_redis WHAT PID: redis answers PING on 127.0.0.1:6379 inside PID's net ns
	local what=$1 pid=$2 deadline=$((SECONDS + WAIT_SECS))
	while ((SECONDS < deadline)); do
		if [[ $(timeout 3 nsenter -t "$pid" -n redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null || true) == PONG ]]; then
			return 0
		fi
		proc_alive "$pid" || die "$what: redis-server (pid $pid) exited"
		sleep 0.2
	done
	die "$what: redis-server (pid $pid) does not answer PING within ${WAIT_SECS}s"
}

wait_port() { # wait_port WHAT PID PORT: something accepts on 127.0.0.1:PORT inside PID's net ns
	local what=$1 pid=$2 port=$3 deadline=$((SECONDS + WAIT_SECS))
	while ((SECONDS < deadline)); do
		timeout 3 nsenter -t "$pid" -n bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null && return 0
		proc_alive "$pid" || die "$what (pid $pid) exited"
		sleep 0.2
	done
	die "$what (pid $pid) does not accept on port $port within ${WAIT_SECS}s"
}

# check_musl_distroless WHAT PID-OF-MUSL PID-OF-DISTROLESS: both listen; distroless runs as nobody
# on a read-only root.
check_musl_distroless() {
	local what=$1 uid
	wait_port "$what musl" "$2" "$MUSL_PORT"
	wait_port "$what distroless" "$3" "$DISTROLESS_PORT"
	uid=$(awk '$1 == "Uid:" {print $2}' "/proc/$3/status")
	[[ $uid == 65534 ]] || die "$what distroless (pid $3) runs as uid $uid, want 65534"
	rootfs_readonly "$3" || die "$what distroless (pid $3): rootfs is not read-only"
}

rootfs_readonly() { # the mount at / of PID is read-only
	awk '$5 == "/" {split($6, o, ","); ro = (o[1] == "ro")} END {exit !ro}' "/proc/$1/mountinfo"
}

up_containerd_containers() {
	local pid map
	ctr_up taka "$(ctr_ref redis)" --env TAKA_VAR=containerd-taka --
	ctr_up userns "$(ctr_ref busybox)" --uidmap 0:100000:65536 --gidmap 0:100000:65536 -- sleep 1000000
	ctr_up noshell "$(ctr_ref noshell)" --read-only --

	pid=$(ctr_task_pid taka)
	wait_redis "containerd $NS/taka" "$pid"
	pid=$(ctr_task_pid userns)
	map=$(awk '{$1 = $1; print}' "/proc/$pid/uid_map")
	[[ $map == "0 100000 65536" ]] || die "containerd $NS/userns (pid $pid): uid_map is '$map', want '0 100000 65536'"
	map=$(awk '{$1 = $1; print}' "/proc/$pid/gid_map")
	[[ $map == "0 100000 65536" ]] || die "containerd $NS/userns (pid $pid): gid_map is '$map', want '0 100000 65536'"
	pid=$(ctr_task_pid noshell)
	rootfs_readonly "$pid" || die "containerd $NS/noshell (pid $pid): rootfs is not read-only"
	up_containerd_musl_distroless
}

# musl and distroless, on the containerd ctr_ talks to (the user comes from the image's config:
# containerd 1.6's ctr run has no --user). OPTS: ctr run options for both.
up_containerd_musl_distroless() {
	ctr_up musl "$(ctr_ref musl)" "$@" --
	ctr_up distroless "$(ctr_ref distroless)" --read-only "$@" --
	check_musl_distroless "$CTR_WHICH $NS/" "$(ctr_task_pid musl)" "$(ctr_task_pid distroless)"
}

# On containerd 2.x: the same taka (its runc state under its own root, see CTRD2_RUNC_ROOT).
up_containerd2_containers() {
	ctr_up taka "$(ctr_ref redis)" --env TAKA_VAR=containerd2-taka --runc-root "$CTRD2_RUNC_ROOT" --
	wait_redis "containerd $CTRD2_VERSION $NS/taka" "$(ctr_task_pid taka)"
	up_containerd_musl_distroless --runc-root "$CTRD2_RUNC_ROOT"
}

up_docker_taka() {
	docker_up_container taka no -e TAKA_VAR=docker-taka --cgroupns=private ctr-enter-test/redis:latest
	wait_redis "docker taka" "$(docker_pid taka)"
}

up_docker_containers() {
	local force=no pid_taka pid_side
	up_docker_taka
	# The sidecar must share the net ns of the taka that runs now.
	if [[ $DOCKER_CREATED == yes ]]; then
		force=force
	elif [[ $(docker_state taka-sidecar) == true ]]; then
		pid_side=$(docker_pid taka-sidecar)
		pid_taka=$(docker_pid taka)
		[[ $(netns_of "$pid_side") == "$(netns_of "$pid_taka")" ]] || force=force
	fi
	docker_up_container taka-sidecar "$force" --net=container:taka ctr-enter-test/busybox:latest sleep 1000000
	docker_up_container noshell no --read-only ctr-enter-test/noshell:latest
	docker_up_container musl no ctr-enter-test/musl:latest
	docker_up_container distroless no --read-only --user 65534:65534 ctr-enter-test/distroless:latest

	pid_side=$(docker_pid taka-sidecar)
	pid_taka=$(docker_pid taka)
	[[ $(netns_of "$pid_side") == "$(netns_of "$pid_taka")" ]] || die "docker taka-sidecar does not share taka's net ns"
	[[ $(dk inspect -f '{{.HostConfig.ReadonlyRootfs}}' noshell) == true ]] || die "docker noshell is not read-only"
	rootfs_readonly "$(docker_pid noshell)" || die "docker noshell: rootfs is not read-only"
	check_musl_distroless "docker " "$(docker_pid musl)" "$(docker_pid distroless)"
}

summary() { # summary [demo|cri]
	local id pid
	echo
	if [[ ${1:-} != demo ]] && cri_up && [[ -x $CRICTL ]]; then
		echo "CRI containerd $CTRD2_VERSION (socket $CRI_SOCK; $CRICTL --config $CRI_DIR/crictl.yaml):"
		cri_ ps -a 2>/dev/null | sed 's/^/  /'
	fi
	if [[ ${1:-} == k8s ]]; then k8s_summary; return 0; fi
	if [[ ${1:-} == cri ]]; then return 0; fi
	[[ ${1:-} == demo ]] || k8s_summary
	if [[ ${1:-} != demo ]] && containerd_up && has_line "$NS" "$(ctr_ namespaces ls -q)"; then
		echo "containerd (socket $CTRD_SOCK), namespace $NS:"
		for id in "${CTR_NAMES[@]}"; do
			printf '  %-13s pid %-8s %s\n' "$id" "$(ctr_task_pid "$id")" \
				"$(ctrn containers ls 2>/dev/null | awk -v id="$id" '$1 == id {print $2}') $(ctr_task_status "$id")"
		done
	fi
	if [[ ${1:-} != demo ]] && containerd2_up; then
		echo "containerd $CTRD2_VERSION (socket $CTRD2_SOCK), namespace $NS:"
		for id in "${CTR2_NAMES[@]}"; do
			printf '  %-13s pid %-8s %s\n' "$id" "$(on_containerd2 ctr_task_pid "$id")" "$(on_containerd2 ctr_task_status "$id")"
		done
	fi
	if docker_up; then
		echo "docker (socket $DOCKER_SOCK):"
		for id in taka taka-sidecar noshell musl distroless; do
			[[ $(docker_state "$id") != missing ]] || continue
			printf '  %-13s pid %-8s %s\n' "$id" "$(docker_pid "$id")" \
				"$(dk container inspect -f '{{.Config.Image}} {{.State.Status}} id={{.Id}}' "$id")"
		done
	fi
	if [[ ${1:-} != demo ]] && registry_up; then
		echo "registry: http://$REGISTRY (images $REGISTRY/busybox:latest, $REGISTRY/glibc-tools:latest, $REGISTRY/musl-tools:latest)"
	fi
	echo "state dir: $STATE"
}

# ---------------------------------------------------------------------------------------------
# down

shims_with() { # PIDs of live containerd shims whose command line holds $1
	local p cmd
	for p in /proc/[0-9]*; do
		cmd=$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null || true)
		[[ $cmd == *containerd-shim* && $cmd == *"$1"* ]] || continue
		if proc_alive "${p#/proc/}"; then echo "${p#/proc/}"; fi
	done
	return 0
}
our_shims() { shims_with " -namespace $1 "; } # PIDs of containerd shims serving namespace $1

ctr_kill_all_tasks() { # ctr_kill_all_tasks NAMESPACE: SIGKILL every task, wait, delete the tasks
	local ns=$1 t tasks i
	tasks=$(ctr_ -n "$ns" tasks ls -q 2>/dev/null || true)
	[[ -n $tasks ]] || return 0
	for t in $tasks; do
		ctr_ -n "$ns" tasks kill -a -s SIGKILL "$t" >/dev/null 2>&1 || true
	done
	for ((i = 0; i < 100; i++)); do
		[[ -z $(ctr_ -n "$ns" tasks ls 2>/dev/null | awk 'NR > 1 && $3 != "STOPPED"') ]] && break
		sleep 0.1
	done
	for t in $tasks; do
		ctr_ -n "$ns" tasks rm -f "$t" >/dev/null 2>&1 || log "could not delete task $ns/$t"
	done
}

purge_ctr_namespace() {
	local c i snaps leaf keys parents left
	has_line "$NS" "$(ctr_ namespaces ls -q)" || { log "containerd namespace $NS: absent"; return 0; }
	log "containerd namespace $NS: removing tasks, containers, images, snapshots, leases, content"
	ctr_kill_all_tasks "$NS"
	for c in $(ctrn containers ls -q); do ctrn containers rm "$c" >/dev/null || log "could not delete container $NS/$c"; done
	local imgs
	imgs=$(ctrn images ls -q)
	# shellcheck disable=SC2086
	[[ -z $imgs ]] || ctrn images rm --sync $imgs >/dev/null || log "could not delete images: ${imgs//$'\n'/ }"
	# snapshots: delete leaves first (a parent cannot go before its children)
	for ((i = 0; i < 20; i++)); do
		snaps=$(ctrn snapshots ls 2>/dev/null | awk 'NR > 1 {print $1, $2}')
		[[ -n $snaps ]] || break
		keys=$(awk '{print $1}' <<<"$snaps")
		parents=$(awk 'NF > 1 {print $2}' <<<"$snaps")
		for leaf in $keys; do
			has_line "$leaf" "$parents" || ctrn snapshots rm "$leaf" >/dev/null 2>&1 || true
		done
	done
	for c in $(ctrn leases ls -q 2>/dev/null); do ctrn leases rm "$c" >/dev/null 2>&1 || true; done
	local blobs
	blobs=$(ctrn content ls -q 2>/dev/null || true)
	# shellcheck disable=SC2086
	[[ -z $blobs ]] || ctrn content rm $blobs >/dev/null 2>&1 || true
	if ! left=$(ctr_ namespaces rm "$NS" 2>&1 >/dev/null); then
		die "could not remove containerd namespace $NS: $left"
	fi
}

# Does a stopped daemon still hold things of ours? (then `down` starts it for the time of the cleanup)
containerd_has_ours() {
	compgen -G "$IMAGES/*.ctr-imported" >/dev/null && return 0
	[[ -n $(ls -A /run/containerd/io.containerd.runtime.v2.task/"$NS" 2>/dev/null) ]]
}
docker_has_ours() {
	grep -qs 'ctr-enter-test/\|127.0.0.1:5000/' /var/lib/docker/image/*/repositories.json && return 0
	local f
	for f in /var/lib/docker/containers/*/config.v2.json; do
		[[ -f $f ]] || continue
		grep -q '"Name":"/\(taka\|taka-sidecar\|noshell\|musl\|distroless\)"' "$f" && return 0
	done
	return 1
}

unmount_under() { # unmount_under DIR DIR: every mount under them, deepest first; none may remain
	local m
	while read -r m; do
		[[ -n $m ]] || continue
		log "unmounting leftover $m"
		umount "$m" 2>/dev/null || umount -l "$m" || log "could not unmount $m"
	done < <(mounts_under "$1" "$2")
	[[ -z $(mounts_under "$1" "$2") ]] || die "mounts left under $1 or $2"
}

mounts_under() { # mount points under any of the given dirs, deepest first
	awk -v dirs="$*" 'BEGIN {n = split(dirs, d, " ")}
		{for (i = 1; i <= n; i++) if ($5 == d[i] || index($5, d[i] "/") == 1) {print length($5), $5; break}}' \
		/proc/self/mountinfo | sort -rn | cut -d' ' -f2-
}

do_down() {
	local pid ctrd_ours=no dockerd_ours=no registry_ours=no m leftover
	take_lock

	# Daemons: a stopped one that still holds our things is started for the cleanup (and stopped after).
	if ! containerd_up && command -v containerd >/dev/null && { containerd_has_ours || docker_has_ours; } 2>/dev/null; then
		log "containerd is not running but holds e2e state: starting it for the cleanup"
		start_containerd
	fi
	if ! docker_up && command -v dockerd >/dev/null && docker_has_ours; then
		log "dockerd is not running but holds e2e state: starting it for the cleanup"
		start_dockerd
	fi
	our_daemon_pid containerd >/dev/null && ctrd_ours=yes
	our_daemon_pid dockerd >/dev/null && dockerd_ours=yes
	our_daemon_pid registry >/dev/null && registry_ours=yes

	if docker_up; then
		local n imgs
		for n in "${DOCKER_NAMES[@]}"; do
			[[ $(docker_state "$n") == missing ]] && continue
			log "docker: removing container $n"
			dk rm -f -v "$n" >/dev/null
		done
		imgs=$(dk images --format '{{.Repository}}:{{.Tag}}' | grep -E '^(ctr-enter-test/|127\.0\.0\.1:5000/)' || true)
		# busybox:latest only if it is still our tag of ctr-enter-test/busybox.
		if [[ -f $IMAGES/busybox.id && $(dk image inspect -f '{{.Id}}' busybox:latest 2>/dev/null || true) == "$(cat "$IMAGES/busybox.id")" ]]; then
			imgs+=${imgs:+$'\n'}busybox:latest
		fi
		if [[ -n $imgs ]]; then
			log "docker: removing images ${imgs//$'\n'/ }"
			# shellcheck disable=SC2086
			dk rmi -f $imgs >/dev/null
		fi
	else
		log "docker: not running, nothing to remove"
	fi

	if containerd_up; then
		purge_ctr_namespace
	else
		log "containerd: not running, nothing to remove"
	fi
	stop_k8s # first: its containerd's socket and state are under containerd 2.x's run dir
	stop_cri # likewise
	stop_containerd2
	# The logs of sidecars in namespace $NS (ctr-enter attach writes them; the tests remove theirs).
	rm -rf "/var/log/ctr-enter/$NS"
	rmdir /var/log/ctr-enter 2>/dev/null || true

	if pid=$(our_daemon_pid registry); then stop_pid "$pid" docker-registry 10; fi
	if pid=$(our_daemon_pid dockerd); then
		stop_pid "$pid" dockerd 30
		if [[ -f $RUN/docker0.ours ]] && ip link show docker0 >/dev/null 2>&1; then
			log "removing the docker0 bridge dockerd created"
			ip link del docker0 || true
		fi
	fi
	if pid=$(our_daemon_pid containerd); then
		# Stopping containerd leaves shims and their containers running: kill and delete every task first.
		local ns
		for ns in $(ctr_ namespaces ls -q 2>/dev/null || true); do
			if [[ -n $(ctr_ -n "$ns" tasks ls -q 2>/dev/null || true) ]]; then
				log "containerd namespace $ns: killing its tasks before stopping containerd"
				ctr_kill_all_tasks "$ns"
			fi
		done
		if [[ $dockerd_ours == yes ]]; then ctr_ namespaces rm moby >/dev/null 2>&1 || true; fi
		stop_pid "$pid" containerd 20
	fi

	# Leftovers: shims of ours (they exit shortly after their task is deleted), mounts of ours.
	local shims
	# (dockerd_ours is this function's: bash's scoping is dynamic.)
	our_containerd_shims() { our_shims "$NS"; [[ $dockerd_ours == no ]] || our_shims moby; }
	stop_shims containerd our_containerd_shims
	local dirs=("$STATE")
	[[ $ctrd_ours == yes ]] && dirs+=(/run/containerd /var/lib/containerd)
	[[ $dockerd_ours == yes ]] && dirs+=(/run/docker /var/lib/docker)
	while read -r m; do
		[[ -n $m ]] || continue
		log "unmounting leftover $m"
		umount "$m" 2>/dev/null || umount -l "$m" || log "could not unmount $m"
	done < <(mounts_under "${dirs[@]}")
	leftover=$(mounts_under "$STATE" /run/containerd/io.containerd.runtime.v2.task/"$NS")
	[[ -z $leftover ]] || die "mounts left under the state dir: $leftover"
	shims=$(our_shims "$NS")
	[[ -z $shims ]] || die "shims of namespace $NS still run: $shims"

	rm -rf "$STATE"
	local stopped=()
	[[ $registry_ours == no ]] || stopped+=(docker-registry)
	[[ $dockerd_ours == no ]] || stopped+=(dockerd)
	[[ $ctrd_ours == no ]] || stopped+=(containerd)
	log "down: done; daemons stopped: ${stopped[*]:-none (env.sh started none)}"
	local other
	other=$(mounts_under /run/containerd /var/lib/containerd /run/docker /var/lib/docker)
	[[ -z $other ]] || log "mounts of daemons env.sh did not start remain (theirs): ${other//$'\n'/ }"
}

# ---------------------------------------------------------------------------------------------
# commands

do_up() {
	take_lock
	mkdir -p "$STATE" "$LOGS" "$RUN" "$IMAGES"
	install_packages
	start_containerd
	start_dockerd
	start_registry
	start_containerd2
	local n
	for n in "${TARGET_IMAGES[@]}" "${TOOL_IMAGES[@]}"; do build_image "$n"; done
	rm -rf "$STATE/build"
	for n in "${TARGET_IMAGES[@]}"; do
		import_containerd "$n"
		import_docker "$n"
	done
	for n in busybox redis musl distroless; do on_containerd2 import_containerd "$n"; done
	tag_busybox_containerd
	on_containerd2 tag_busybox_containerd
	tag_busybox_docker
	for n in "${TOOL_IMAGES[@]}"; do import_docker "$n"; done
	for n in busybox "${TOOL_IMAGES[@]}"; do push_registry "$n"; done
	up_containerd_containers
	on_containerd2 up_containerd2_containers
	up_cri
	up_k8s
	up_docker_containers
	summary
}

do_up_cri() {
	take_lock
	mkdir -p "$STATE" "$LOGS" "$RUN" "$IMAGES"
	install_packages
	up_cri
	summary cri
}

# The CRI containerd stopped and started again, its pods left as they are (a node's containerd
# restart: the shims, and so the containers, run on).
do_restart_cri() {
	take_lock
	local pid
	pid=$(our_daemon_pid cri) || die "the CRI containerd was not started by env.sh"
	stop_pid "$pid" "the CRI containerd" 20
	start_cri
}

do_down_cri() {
	take_lock
	stop_cri
	log "down-cri: done"
}

do_up_k8s() {
	take_lock
	mkdir -p "$STATE" "$LOGS" "$RUN" "$IMAGES"
	install_packages
	start_containerd
	start_dockerd
	up_k8s
	summary k8s
}

do_down_k8s() {
	take_lock
	stop_k8s
	log "down-k8s: done"
}

do_k8s_image() { # rebuild ctr-enter's image with BINARY and import it into the node's containerd, if it changed
	take_lock
	[[ -n ${1:-} ]] || die "usage: e2e/env.sh k8s-image BINARY"
	on_k8s_cri cri_up || die "the Kubernetes node is not up (e2e/env.sh up-k8s)"
	k8s_image "$(readlink -f -- "$1")"
}

do_demo() {
	take_lock
	if containerd_up && docker_up && [[ $(docker_state taka) == true ]]; then
		log "containerd and dockerd run and the docker container taka already runs (pid $(docker_pid taka)): nothing to do"
		return 0
	fi
	mkdir -p "$STATE" "$LOGS" "$RUN" "$IMAGES"
	install_packages
	start_containerd
	start_dockerd
	local n
	for n in busybox redis; do build_image "$n"; done
	rm -rf "$STATE/build"
	for n in busybox redis; do import_docker "$n"; done
	tag_busybox_docker
	up_docker_taka
	summary demo
}

do_status() {
	summary
}

usage() {
	sed -n '2,/^set -euo/p' "$SCRIPT_PATH" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

[[ $(id -u) == 0 ]] || die "must run as root"
case ${1:-} in
up) do_up ;;
demo) do_demo ;;
down) do_down ;;
up-cri) do_up_cri ;;
down-cri) do_down_cri ;;
restart-cri) do_restart_cri ;;
up-k8s) do_up_k8s ;;
down-k8s) do_down_k8s ;;
k8s-image) do_k8s_image "${2:-}" ;;
status) do_status ;;
registry)
	case ${2:-} in
	stop)
		pid=$(our_daemon_pid registry) || die "the registry on $REGISTRY was not started by env.sh"
		stop_pid "$pid" docker-registry 10
		;;
	start) start_registry ;;
	*)
		usage >&2
		exit 2
		;;
	esac
	;;
-h | --help | help) usage ;;
*)
	usage >&2
	exit 2
	;;
esac
