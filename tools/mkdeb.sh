#!/usr/bin/env bash
# mkdeb.sh VERSION [OUTDIR [BUILD]]: builds OUTDIR/bashsock_VERSION-1_ARCH.deb
# (OUTDIR default build/deb) from the build in BUILD (default: the tree's,
# bashsock.so at the top; make deb passes its own) with dpkg-deb alone,
# and prints its path. Layout:
#   /usr/lib/bash/bashsock.so, bashsock-helper, bashsock-helper-tls
#                                               beside bash's own loadables
#                                               (BASH_LOADABLES_PATH)
#   /usr/share/bashsock/loader.sh               the loader to source
#   /usr/share/man/man1/bashsock.1.gz, man7/bashsock.7.gz
#   /usr/share/doc/bashsock/                    copyright, changelog, README
# Installed through `make install DESTDIR=... PREFIX=/usr` (stripped
# copies), then compressed and described as Debian policy asks. Depends:
# the shared libraries' packages (dpkg-shlibdeps), and the bash release the
# object was built against: a loadable uses bash's internals.
set -u
cd "$(dirname "$0")/.." || exit 2
version=${1:?usage: mkdeb.sh VERSION [OUTDIR [BUILD]]}
out=${2:-build/deb}
build=${3:-}
rev=1
arch=$(dpkg --print-architecture) || exit 2
maint=${DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>' 2>/dev/null)}
maint=${maint:-bashsock maintainers <bashsock@localhost>}
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH=$epoch
mkdir -p "$out"
out=$(realpath "$out") || exit 2
work=$(mktemp -d "$out/pkg.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
# The tree dpkg-shlibdeps expects: debian/control, debian/PACKAGE/.
root=$work/src/debian/bashsock
doc=$root/usr/share/doc/bashsock

make --no-print-directory -s install DESTDIR="$root" PREFIX=/usr \
	VERSION="$version" ${build:+BUILD="$build" SO="$build/bashsock.so"} \
	>/dev/null || exit 1
# make install strips; policy also drops these sections.
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	"$root/usr/lib/bash/bashsock.so" "$root/usr/lib/bash/bashsock-helper" \
	"$root/usr/lib/bash/bashsock-helper-tls" || exit 1
gzip -9n "$root"/usr/share/man/man*/*.[0-9]

install -d "$doc"
install -m 0644 tools/debian/copyright "$doc/copyright"
gzip -9n <README.md >"$doc/README.md.gz"
chmod 0644 "$doc/README.md.gz"
{
	printf 'bashsock (%s-%s) unstable; urgency=medium\n\n' "$version" "$rev"
	printf '  * Built from the upstream tree with make deb (commit %s).\n\n' \
		"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	printf ' -- %s  %s\n' "$maint" "$(LC_ALL=C date -u -R -d "@$epoch")"
} | gzip -9n >"$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"

# The shared libraries' packages, as dpkg-shlibdeps finds them (it wants a
# debian/control; bash's own symbols are resolved by bash at load time,
# hence the warnings it would print about them are dropped).
printf 'Source: bashsock\n\nPackage: bashsock\nArchitecture: any\n' \
	>"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O --warnings=0 \
	-e"$root/usr/lib/bash/bashsock.so" -e"$root/usr/lib/bash/bashsock-helper" \
	-e"$root/usr/lib/bash/bashsock-helper-tls" \
	2>/dev/null | sed -n 's/^shlibs:Depends=//p')
if [ -z "$shlibs" ]; then
	echo "mkdeb: dpkg-shlibdeps found no dependency" >&2
	exit 1
fi
# The bash release built against, X.Y: from X.Y on, before X.Y+1.
bv=$(bash -c 'echo "${BASH_VERSINFO[0]} ${BASH_VERSINFO[1]}"')
read -r bmaj bmin <<<"$bv"
depends="bash (>= $bmaj.$bmin), bash (<< $bmaj.$((bmin + 1))), $shlibs"

install -d "$root/DEBIAN"
size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: bashsock
Version: $version-$rev
Architecture: $arch
Maintainer: $maint
Installed-Size: $size
Depends: $depends
Section: shells
Priority: optional
Description: TCP networking builtins for bash
 Loadable builtins that give bash in-shell TCP: bind-input listens on a
 port and bind-output connects to a host, each binding a helper process
 with a shared-memory buffer that the overridden read and write builtins
 use without a fork or a system call on the hot path. trigger-wait and
 trigger-send signal between machines with a challenge-response over a
 shared key; pool and master start daemons bound to a remote pool.
 .
 Source /usr/share/bashsock/loader.sh, or enable -f bashsock.so NAME by
 bare name through BASH_LOADABLES_PATH.
EOF
(cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) \
	>"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
find "$root" -type d -exec chmod 0755 {} +

deb=$out/bashsock_${version}-${rev}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null || exit 1
echo "$deb"
