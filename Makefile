# indexops — the two commands of the README, and a few more.
#   make demo    install what is missing, build, and run indexops on the quickstart
#   make test    install what is missing and run the whole test suite
#   make bench   time passes over a generated repository (N=100000 TYPES=2 make bench for more;
#                STATUS_BRANCH=1 with the statuses on a branch of their own)
#   make load    indexops run under webhooks and readers during passes (issue 11's load test)
#   make man     regenerate docs/indexops.1 from the commands' help
#   make image-check  build the container's binary and run it in a Debian root (root, network)
SWIFT ?= swift
BIN := .build/debug/indexops

.PHONY: deps build test demo bench load man image-check clean

deps:
	@scripts/install-deps

build: deps
	$(SWIFT) build

test: deps
	$(SWIFT) test

demo: build
	@scripts/demo

# A benchmark, not a test: N documents (default 10000) × TYPES noop index types (default 3),
# the release build of indexops run as a process.
bench: deps
	$(SWIFT) build -c release --product indexops
	$(SWIFT) build -c release --product indexops-bench
	.build/release/indexops-bench --documents $${N:-10000} --types $${TYPES:-3}

# The load test of `indexops run` (Sources/indexops-bench/LoadTest.swift): exits 1 when a
# request failed, a push was never passed or the daemon's memory grew past its bound.
load: deps
	$(SWIFT) build -c release --product indexops
	$(SWIFT) build -c release --product indexops-bench
	.build/release/indexops-bench --load --documents $${N:-10000} --types $${TYPES:-3} --seconds $${SECONDS_PER_PHASE:-60}

# The man page, from the same help as --help (swift-argument-parser's generate-manual
# plugin); committed so that nobody needs a build to read it.
man: deps
	$(SWIFT) package plugin generate-manual --configuration debug
	install -D -m 0644 "$$(find .build/plugins -path '*GenerateManual*' -name indexops.1 | head -1)" docs/indexops.1

# examples/sidecar/Dockerfile checked without a Docker engine: scripts/check-image.
image-check: deps
	@scripts/check-image

clean:
	rm -rf .build
