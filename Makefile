# indexops — the two commands of the README, and a few more.
#   make demo    install what is missing, build, and run indexops on the quickstart
#   make test    install what is missing and run the whole test suite
#   make bench   time passes over a generated repository (N=100000 TYPES=2 make bench for more)
SWIFT ?= swift
BIN := .build/debug/indexops

.PHONY: deps build test demo bench clean

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

clean:
	rm -rf .build
