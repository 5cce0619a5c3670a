# ctr-enter: one static binary. Every build here links statically: cgo (for
# the namespace-joining constructor) against musl's static libc, with the
# pure-Go resolver and user lookup so that nothing wants NSS or dlopen, and
# without grpc's x/net/trace (html/template and its start-up cost).
#
# musl rather than glibc: a static glibc probes the CPU with CPUID at every
# start (its features, then its caches, leaf by leaf), and a hypervisor
# traps each CPUID: 0.61 ms of CPU for an empty static glibc program on
# these VMs, 0.05 ms with musl, paid by ctr-enter and again by the
# constructor's process on every entry. script/toolchain gets musl-gcc and
# the kernel's headers, which musl-gcc does not see by itself; musl
# declares none of the new mount API, which the constructor then calls
# through syscall(2) (enter/nsexec/mountapi.h).
#
# The kubectl plugin (kubectl/, a Go module of its own so that client-go
# never enters ctr-enter's module) is pure Go: CGO_ENABLED=0 makes it
# static with no libc at all.
GO        ?= go
BIN       := bin/ctr-enter
PLUGIN    := bin/kubectl-ctr_enter
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
TAGS      := netgo,osusergo,grpcnotrace
LDFLAGS   := -s -w -extldflags -static -X main.version=$(VERSION)
export CGO_ENABLED := 1
# The static binary's C toolchain (script/toolchain): musl-gcc, with the
# kernel's headers.
MUSL      := CC=musl-gcc CGO_CFLAGS='-O2 -g -isystem $(CURDIR)/build/kernel-headers'

.PHONY: all toolchain build image unit fuzz e2e test demo bench clean

all: build

toolchain:
	@script/toolchain build/kernel-headers

build: toolchain
	$(MUSL) $(GO) build -trimpath -tags $(TAGS) -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/ctr-enter
	@file $(BIN) | grep -q 'statically linked' || { echo "$(BIN) is not statically linked" >&2; exit 1; }
	cd kubectl && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w -X main.version=$(VERSION)' -o $(CURDIR)/$(PLUGIN) ./cmd/kubectl-ctr_enter
	@file $(PLUGIN) | grep -q 'statically linked' || { echo "$(PLUGIN) is not statically linked" >&2; exit 1; }
	@! $(GO) list -deps ./cmd/ctr-enter | grep -q '^k8s.io/' || { echo "ctr-enter links a k8s.io package" >&2; exit 1; }

# ctr-enter's own image (Dockerfile), built offline by the local dockerd.
IMAGE ?= ctr-enter:dev
image: build
	script/image-rootfs $(BIN) build/image/rootfs
	docker build -q -t $(IMAGE) -f Dockerfile build/image

# Unit tests: no daemon, and no root once musl-tools is installed.
unit: toolchain
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/
	$(GO) test -count=1 ./...
	$(MUSL) $(GO) test -count=1 ./enter/nsexec/ # the constructor as the static binary has it
	cd kubectl && $(GO) vet ./... && $(GO) test -count=1 ./...

# Each fuzz target of the parsers of what a target controls (its /proc
# files, the cgroupfs it can write to, its /etc/passwd and /etc/group), for
# a bounded number of runs (a few seconds here). A count, not a duration:
# Go 1.26's fuzzing coordinator can report a spurious "context deadline
# exceeded" when a duration runs out (go.dev/issue/75804).
FUZZTIME ?= 200000x
FUZZPKGS := ./internal/procfs/ ./internal/passwd/
fuzz:
	for p in $(FUZZPKGS); do \
		for f in $$($(GO) test -list '^Fuzz' $$p | grep ^Fuzz); do \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$p || exit 1; \
		done; \
	done

# End-to-end tests against the environment e2e/env.sh brings up (and leaves
# up: `e2e/env.sh down` removes it).
e2e: build
	e2e/env.sh up
	CTR_ENTER_BIN=$(CURDIR)/$(BIN) $(GO) test -tags e2e -count=1 -v -timeout 20m ./e2e/

# Everything, from a fresh machine: unit tests, then the real runtimes
# installed, started, used and torn down again.
test: unit fuzz build
	e2e/env.sh up
	status=0; CTR_ENTER_BIN=$(CURDIR)/$(BIN) $(GO) test -tags e2e -count=1 -v -timeout 20m ./e2e/ || status=$$?; \
	e2e/env.sh down; exit $$status

# The main job: a container to enter (brought up only where none runs), and
# ctr-enter showing its processes from inside its namespaces.
demo: build
	e2e/env.sh demo
	@ref=taka; ctr -n e2e containers ls -q 2>/dev/null | grep -qx taka && ref=docker://taka; \
	set -x; $(BIN) $$ref --net --pid -- ps aux; $(BIN) $$ref -- cat /etc/hostname

bench: build
	e2e/env.sh up
	$(GO) run ./bench -bin $(BIN)

clean:
	rm -rf bin build
