#!/bin/sh
# deps.sh - install, on Debian, whatever the build, the tests or the demo
# need and this machine lacks.  Called by `make deps` (and so by `make
# check` and `make demo`).  Needs root or sudo only if something is missing.
missing=
pc() { pkg-config --exists "$1" 2>/dev/null || missing="$missing $2"; }
cmd() { command -v "$1" >/dev/null 2>&1 || missing="$missing $2"; }

cmd pkg-config pkg-config
cmd cc gcc
cmd make make
cmd jq jq
cmd prove perl
cmd mandoc mandoc
cmd curl curl
cmd gnuplot gnuplot-nox
cmd parallel parallel
cmd openssl openssl
if command -v pkg-config >/dev/null 2>&1; then
	pc libcurl libcurl4-openssl-dev
	pc libcjson libcjson-dev
	pc libmicrohttpd libmicrohttpd-dev
else
	missing="$missing libcurl4-openssl-dev libcjson-dev libmicrohttpd-dev"
fi
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then sudo=; elif command -v sudo >/dev/null; then sudo=sudo
else
	echo "deps: need root or sudo to install:$missing" >&2
	exit 2
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: no apt-get; install by hand:$missing" >&2
	exit 2
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq &&
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
	echo "deps: apt-get install failed for:$missing" >&2
	exit 2
}
