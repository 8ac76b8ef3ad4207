# alignsync — the two commands a newcomer needs are `make demo` and `make test`.
GO      ?= go
PKGS    ?= ./...
TIMEOUT ?= 30m

.PHONY: demo test vet build bench fmt

## demo: run the whole pipeline in one process on embedded defaults (Ctrl-C stops it)
demo:
	$(GO) run ./cmd/alignsync demo

## test: vet and run every test (needs the PostgreSQL server binaries; .ci/run installs them)
test: vet
	$(GO) test -count=1 -timeout $(TIMEOUT) $(PKGS)

vet:
	$(GO) vet $(PKGS)

build:
	$(GO) build -o bin/alignsync ./cmd/alignsync

fmt:
	gofmt -l -w .
