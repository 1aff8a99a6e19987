# indexops — the two commands of the README, and a few more.
#   make demo    install what is missing, build, and run indexops on the quickstart
#   make test    install what is missing and run the whole test suite
SWIFT ?= swift
BIN := .build/debug/indexops

.PHONY: deps build test demo clean

deps:
	@scripts/install-deps

build: deps
	$(SWIFT) build

test: deps
	$(SWIFT) test

demo: build
	@scripts/demo

clean:
	rm -rf .build
