#!/bin/sh
# deps.sh - installs, on Debian, what `make fuzz` needs and only it:
# clang and its libFuzzer runtime.  make check never calls this; it runs
# the fuzzers only where they can be built.
missing=
command -v clang >/dev/null 2>&1 || missing="clang"
v=$(clang -dumpversion 2>/dev/null | cut -d. -f1)
dpkg -s "libclang-rt-${v:-14}-dev" >/dev/null 2>&1 || missing="$missing libclang-rt-${v:-14}-dev"
[ -z "$missing" ] && exit 0
echo "fuzz deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then sudo=; elif command -v sudo >/dev/null; then sudo=sudo
else
	echo "fuzz deps: need root or sudo to install:$missing" >&2
	exit 2
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
	echo "fuzz deps: apt-get install failed for:$missing" >&2
	exit 2
}
