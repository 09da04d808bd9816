#!/usr/bin/env bash
# deps.sh: install what building and testing bashsock needs, when missing.
# As root it uses apt-get; otherwise it names the packages and fails.
set -u
pkgs=(bash-builtins pkg-config gcc make binutils libssl-dev bats bats-assert
	bats-support socat netcat-openbsd ncat python3 iproute2 procps psmisc
	util-linux tmux
	valgrind clang libclang-rt-14-dev shellcheck cppcheck clang-tidy
	clang-format)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages (install as root): ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq >/dev/null &&
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
	echo "deps: apt-get install failed for: ${missing[*]}" >&2
	exit 1
fi
