# Thin wrappers over deno tasks. Each target bootstraps the pinned Deno (scripts/deno.sh)
# from the npm package `deno` when it is not on PATH.

DENO := $(shell scripts/deno.sh)
ifeq ($(DENO),)
$(error Cannot find or install Deno: see the message of scripts/deno.sh above)
endif

.PHONY: all build test lint run bench clean conformance

all: build

build:
	$(DENO) task build

test: build
	$(DENO) task test

lint:
	$(DENO) task lint

run: build
	$(DENO) task run

bench: build
	$(DENO) task bench

conformance: build
	$(DENO) task conformance bin/authn-static-api-key --config @examples/conformance/authn-static-api-key.json

clean:
	rm -rf bin
