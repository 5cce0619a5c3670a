# ctr-enter: one static binary. Every build here links statically: cgo (for
# the namespace-joining constructor) against glibc's static libc, with the
# pure-Go resolver and user lookup so that nothing wants NSS or dlopen.
GO        ?= go
BIN       := bin/ctr-enter
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
TAGS      := netgo,osusergo
LDFLAGS   := -s -w -extldflags -static -X main.version=$(VERSION)
export CGO_ENABLED := 1

.PHONY: all build unit e2e test demo bench clean

all: build

build:
	$(GO) build -trimpath -tags $(TAGS) -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/ctr-enter
	@file $(BIN) | grep -q 'statically linked' || { echo "$(BIN) is not statically linked" >&2; exit 1; }
