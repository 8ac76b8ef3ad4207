# alignsync — the two commands a newcomer needs are `make demo` and `make test`.
GO      ?= go
PKGS    ?= ./...
TIMEOUT ?= 30m

.PHONY: demo test vet build bench soak check-dashboards dashboard-json readme fmt

## demo: run the whole pipeline in one process on embedded defaults (Ctrl-C or 60 s ends it)
demo:
	$(GO) run ./cmd/alignsync demo

## test: vet and run every test, check-dashboards included (PostgreSQL server binaries,
## prometheus, docker-compose and chromium needed; .ci/run installs them)
test: vet
	$(GO) test -count=1 -timeout $(TIMEOUT) $(PKGS)

vet:
	$(GO) vet $(PKGS)

## check-dashboards: run the pipeline, scrape it with a real Prometheus, evaluate every panel
check-dashboards:
	$(GO) test -count=1 -timeout 15m -run TestPanelsReturnDataInPrometheus -v ./dashboards

## dashboard-json: regenerate dashboards/alignsync.json from dashboards/dashboard.go
dashboard-json:
	$(GO) run ./dashboards/gen > dashboards/alignsync.json

## bench: the benchmarks BENCHMARKS.md records
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./pipeline
	$(GO) test -run '^$$' -bench WebhookIngest -benchtime 30000x ./admin

## soak: the whole-system test for DURATION (default 30m): capture, serve and two sinks as
## processes under Align faults and random SIGKILLs, then Illumera and Align compared entity by
## entity (make test runs it for 2m). SOAK_LOGS keeps the components' logs; RELIABILITY.md has a run.
DURATION  ?= 30m
SOAK_LOGS ?=
soak:
	ALIGNSYNC_SOAK_DURATION=$(DURATION) ALIGNSYNC_SOAK_LOG_DIR=$(SOAK_LOGS) \
		$(GO) test -count=1 -timeout 0 -run TestWholeSystemUnderFaultsAndKills -v ./systemtest

## readme: regenerate README.md's configuration reference from the flags
readme:
	ALIGNSYNC_UPDATE_README=1 $(GO) test -count=1 -run TestReadmeConfigReference ./cmd/alignsync

build:
	$(GO) build -o bin/alignsync ./cmd/alignsync

fmt:
	gofmt -l -w .
