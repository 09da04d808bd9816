#!/usr/bin/env bash
# deps.sh [--list] GROUP...: install the Debian packages the named make
# targets use, when missing. As root it runs apt-get; as another user it
# names the missing packages (one line) and fails. --list prints the
# packages of the groups, one a line, and installs nothing.
#
# Groups: build (make, make install), demo, test, lint, asan
# (check-asan), valgrind (check-valgrind), fuzz, bench, deb. Each names
# only what its target runs; generic package names (clang,
# libclang-rt-dev), not one Debian release's versioned ones.
set -u
list=0
if [ "${1:-}" = --list ]; then
	list=1
	shift
fi
[ $# -gt 0 ] || set -- build

group() {
	case $1 in
	# The object: bash's headers and loadables.h, libcrypto; ar and nm
	# (binutils) for lib/'s archive and the loader's list of builtins.
	build) echo bash-builtins pkg-config gcc make binutils libssl-dev ;;
	# tools/demo.sh: ss (iproute2), OpenBSD nc as the third-party sender.
	demo) echo iproute2 netcat-openbsd ;;
	# The unit tests (gcc's ASan comes with gcc) and the bats suite's peers;
	# tests/install.bats reads the man pages (man-db) and builds the
	# package (dpkg-deb); tests/conversation.bats talks to redis-server
	# and serves curl; tests/tls.bats makes certificates with openssl.
	test) echo bats bats-assert bats-support socat netcat-openbsd ncat \
		python3 iproute2 procps psmisc util-linux tmux man-db \
		redis-server curl openssl ;;
	lint) echo shellcheck cppcheck clang-tidy clang-format ;;
	# clang builds the object with ASan; its runtime is libclang-rt-dev
	# (on Debian 12 clang only recommends it).
	asan) echo clang libclang-rt-dev ;;
	valgrind) echo valgrind python3 iproute2 util-linux ;;
	# libFuzzer's runtime is in libclang-rt-dev too.
	fuzz) echo clang libclang-rt-dev ;;
	# bench/run.sh's anchors and chart (it skips a case whose tool is
	# missing; these are what it uses).
	bench) echo gcc openssl socat netcat-openbsd ncat iperf3 zsh gnuplot-nox python3 \
		coreutils util-linux valgrind bash-builtins iproute2 ;;
	deb) echo lintian ;;
	*)
		echo "deps: unknown group: $1" >&2
		return 1
		;;
	esac
}

pkgs=()
declare -A seen=()
for g in "$@"; do
	words=$(group "$g") || exit 2
	for p in $words; do
		[ -n "${seen[$p]:-}" ] && continue
		seen[$p]=1
		pkgs+=("$p")
	done
done
if [ "$list" = 1 ]; then
	printf '%s\n' "${pkgs[@]}"
	exit 0
fi
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages for $*; as root run: apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq >/dev/null &&
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
	echo "deps: apt-get install failed for: ${missing[*]}" >&2
	exit 1
fi
