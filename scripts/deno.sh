#!/bin/sh
# Prints the path of the pinned Deno, installing it from the npm package `deno`
# into .tools/ when the deno on PATH is missing or of another version.
# Used by the Makefile: `DENO := $(shell scripts/deno.sh)`.
set -eu

DENO_VERSION=2.9.6

root=$(cd "$(dirname "$0")/.." && pwd)
prefix="$root/.tools/deno-$DENO_VERSION"
local_bin="$prefix/bin/deno"

if command -v deno >/dev/null 2>&1; then
  if deno --version 2>/dev/null | head -n 1 | grep -q "^deno $DENO_VERSION "; then
    command -v deno
    exit 0
  fi
fi

if [ -x "$local_bin" ]; then
  echo "$local_bin"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "scripts/deno.sh: cannot install Deno $DENO_VERSION: npm is not on PATH; install Node.js and npm, or put deno $DENO_VERSION on PATH" >&2
  exit 1
fi

echo "scripts/deno.sh: installing Deno $DENO_VERSION from npm into .tools/ (once)" >&2
mkdir -p "$prefix"
npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error \
  "deno@$DENO_VERSION" >&2
native=$(find "$prefix/node_modules/@deno" -type f -name deno -perm -u+x 2>/dev/null | head -n 1)
if [ -z "$native" ]; then
  echo "scripts/deno.sh: cannot find the Deno binary for this platform in $prefix/node_modules/@deno: the npm package deno@$DENO_VERSION has no build for $(uname -sm)" >&2
  exit 1
fi
mkdir -p "$prefix/bin"
ln -sf "$native" "$local_bin"
"$local_bin" --version | head -n 1 | grep -q "^deno $DENO_VERSION " || {
  echo "scripts/deno.sh: $local_bin does not report version $DENO_VERSION" >&2
  exit 1
}
echo "$local_bin"
