#!/bin/sh
# deps.sh WHAT: install the Debian packages that WHAT needs, if missing.
# WHAT is build (compile), check (build + tests), lint, bench, fuzz
# (clang with libFuzzer), or deb (the Debian packages: make deb).
# As root it runs apt-get; otherwise it says what to install and fails.
set -eu

build="gcc make pkg-config libbsd-dev libc6-dev"
check="$build bats netcat-openbsd curl socat systemd util-linux iproute2 procps haproxy python3 prometheus tmux spin"
# The pages .Xr refers to must be installed for mandoc -Tlint to find them.
lint="mandoc shellcheck manpages manpages-dev procps util-linux systemd netcat-openbsd spin"

case "${1:-}" in
build) want=$build ;;
check) want=$check ;;
lint) want=$lint ;;
bench) want="$check ucspi-tcp ipsvd xinetd strace nginx-light" ;;
fuzz) want="$build clang libclang-rt-14-dev" ;;
deb) want="$build dpkg-dev debhelper fakeroot lintian man-db" ;;
*) echo "usage: deps.sh build|check|lint|bench|fuzz|deb" >&2; exit 100 ;;
esac

missing=
for p in $want; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q '^install ok installed$' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing Debian packages:$missing" >&2
	echo "deps.sh: as root, run: apt-get install$missing" >&2
	exit 111
fi
echo "deps.sh: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || { echo "deps.sh: apt-get update failed" >&2; exit 111; }
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2 ||
    { echo "deps.sh: apt-get install$missing failed" >&2; exit 111; }
