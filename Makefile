# bashsock: bash loadable builtins for in-shell TCP.
#
# lib/       sockets, ring, runtime directory, helpers: never sees a bash header
# builtins/  the bash-facing layer, one file per command
# helper/    bashsock-helper, the program the input and output helpers run
#            (built next to the shared object, where bashsock.so looks)
#
# Targets: all (default), test, demo, install, uninstall, deb, man, bench,
# check-asan, check-valgrind, check-stress, fuzz, format, format-check,
# lint, clean. Each target that runs something first installs the Debian
# packages it uses (tools/deps.sh GROUP: as root with apt-get; as another
# user it names them and stops). CI (.ci/run) runs test, then lint,
# check-asan, check-valgrind, fuzz and check-stress.

PREFIX     ?= /usr/local
DESTDIR    ?=
CC         ?= cc
AR         ?= ar
NM         ?= nm
CFLAGS     ?= -O2 -g
WERROR     ?=
WARN       := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
              -Wmissing-prototypes $(WERROR)
BASE       := -std=gnu11 -fPIC -fvisibility=hidden -D_GNU_SOURCE
LOADABLES  := $(shell pkg-config --variable=loadablesdir bash 2>/dev/null || echo /usr/lib/bash)
# bash's headers go through -isystem so their warnings stay out of ours.
BASH_INC   := $(patsubst -I%,-isystem %,$(filter -I%,$(shell pkg-config --cflags bash 2>/dev/null))) \
              -isystem $(LOADABLES) -DSHELL
LDLIBS     := -lcrypto
BUILD      ?= build
SAN        ?=
# The shared object; sanitizer builds put theirs in their own BUILD.
SO         ?= bashsock.so
# The helper program: next to SO, where bashsock.so looks for it.
HELPER     := $(patsubst ./%,%,$(dir $(SO))bashsock-helper)
# The same program with TLS (lib/tls.c, libssl): started for -T bindings
# only, so that the plain helper never maps libssl (README, TLS).
HELPER_TLS := $(HELPER)-tls

LIB_SRC    := $(sort $(wildcard lib/*.c))
BI_SRC     := $(sort $(wildcard builtins/*.c))
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o)
BI_OBJ     := $(BI_SRC:%.c=$(BUILD)/%.o)
# lib/ is built once into an archive: the object, the helper program, the
# unit tests and the fuzz targets link it, and the linker takes only the
# members each one uses (the helper program none that needs libcrypto:
# tests/install.bats checks with ldd).
LIB_A      := $(BUILD)/libbashsock.a
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)

# The loader, with the list of builtins this build has (see loader.sh.in).
LOADER     := loader.sh

all: $(SO) $(HELPER) $(HELPER_TLS) $(LOADER)

$(SO): $(BI_OBJ) $(LIB_A)
	$(CC) -shared $(SAN) -Wl,-z,now -Wl,-z,relro -o $@ $(BI_OBJ) $(LIB_A) $(LDLIBS)

$(HELPER): $(BUILD)/helper/bashsock-helper.o $(LIB_A)
	$(CC) $(SAN) -Wl,-z,now -Wl,-z,relro -o $@ $^

$(HELPER_TLS): $(BUILD)/helper/bashsock-helper-tls.o $(LIB_A)
	$(CC) $(SAN) -Wl,-z,now -Wl,-z,relro -o $@ $^ -lssl -lcrypto

$(BUILD)/helper/bashsock-helper-tls.o: helper/bashsock-helper.c lib/*.h | $(BUILD)/helper
	$(CC) $(BASE) $(CFLAGS) $(SAN) $(WARN) -DBASHSOCK_TLS -Ilib -MMD -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# The builtins the object defines (its exported NAME_struct symbols: the
# hyphenated names come from an assembler alias beside each struct, see
# BS_BUILTIN_ALIAS in builtins/bs.h), written into the loader, so that
# loading needs no program from PATH. The list is built before it replaces
# the loader: a failed nm leaves no loader without builtins.
$(LOADER): loader.sh.in $(SO)
	@list=$$($(NM) -D --defined-only $(SO) | \
	    sed -n 's/^[0-9a-f]* [A-Za-z] \([a-z][a-z-]*\)_struct$$/\1/p' | sort | tr '\n' ' '); \
	[ -n "$$list" ] || { echo "no builtin found in $(SO)" >&2; exit 1; }; \
	sed "s|@BUILTINS@|$${list% }|" loader.sh.in > $@.tmp && mv $@.tmp $@

# lib/ gets no bash include path at all: a bash header there fails the build.
$(BUILD)/lib/%.o: lib/%.c lib/*.h | $(BUILD)/lib
	$(CC) $(BASE) $(CFLAGS) $(SAN) $(WARN) -Ilib -MMD -c -o $@ $<

$(BUILD)/builtins/%.o: builtins/%.c builtins/*.h lib/*.h $(LOADABLES)/loadables.h | $(BUILD)/builtins
	$(CC) $(BASE) $(CFLAGS) $(SAN) $(WARN) -Ilib -Ibuiltins $(BASH_INC) -c -o $@ $<

# No bash headers: say which package has them rather than fail in config.h.
$(LOADABLES)/loadables.h:
	@echo "bash's loadable-builtin headers are missing: install bash-builtins (make deps does, as root)" >&2
	@exit 1

# The helper program is lib/'s alone: no bash header either.
$(BUILD)/helper/%.o: helper/%.c lib/*.h | $(BUILD)/helper
	$(CC) $(BASE) $(CFLAGS) $(SAN) $(WARN) -Ilib -MMD -c -o $@ $<

$(BUILD)/lib $(BUILD)/builtins $(BUILD)/helper $(BUILD)/unit/lib:
	mkdir -p $@

# Unit tests of lib/, always under ASan and UBSan: lib/ again with them,
# into an archive of its own.
UNIT_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/unit/%.o)
UNIT_LIB_A   := $(BUILD)/unit/libbashsock.a
$(BUILD)/unit/lib/%.o: lib/%.c lib/*.h | $(BUILD)/unit/lib
	$(CC) $(BASE) -O1 -g $(UNIT_SAN) $(WARN) -Ilib -c -o $@ $<
$(UNIT_LIB_A): $(UNIT_LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^
$(BUILD)/unit/%: tests/unit/%.c tests/unit/check.h $(UNIT_LIB_A) lib/*.h
	$(CC) $(BASE) -O1 -g $(UNIT_SAN) $(WARN) -Ilib -o $@ $< $(UNIT_LIB_A) $(LDLIBS) -lpthread

unit: $(UNIT_BIN)

# deps: what building and the suite use; deps-GROUP: a group of
# tools/deps.sh (build, demo, test, lint, asan, valgrind, fuzz, bench, deb).
deps: deps-build deps-test
deps-%:
	@tools/deps.sh $*

# The stress suite is left to make check-stress.
TEST_BATS  := $(filter-out tests/stress.bats,$(wildcard tests/*.bats))
test:
	@tools/deps.sh build test
	@$(MAKE) --no-print-directory all unit
	@BATS_FILES="$${BATS_FILES:-$(TEST_BATS)}" tools/run-tests.sh $(UNIT_BIN)

demo:
	@tools/deps.sh build demo
	@$(MAKE) --no-print-directory all
	@tools/demo.sh

bench:
	@tools/deps.sh build bench
	@$(MAKE) --no-print-directory all
	@bench/run.sh

# --- man pages ------------------------------------------------------------
# bashsock(1) is generated from the builtins' own help texts (the doc
# arrays in builtins/*.c, read back through `help` from the object just
# built), so the page cannot say something `help` does not; bashsock(7) is
# written by hand in man/bashsock.7.
# make install writes the page again, with the loader's installed path.
VERSION ?= 0.1.0
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)
export SOURCE_DATE_EPOCH
MKMAN = BASHSOCK_VERSION=$(VERSION) tools/mkman.sh
MAN1 := $(BUILD)/man/bashsock.1
man: $(MAN1)
$(MAN1): $(SO) tools/mkman.sh
	@mkdir -p $(dir $@)
	$(MKMAN) $(SO) > $@.tmp && mv $@.tmp $@

# --- install --------------------------------------------------------------
# Beside bash's own loadables ($(PREFIX)/lib/bash is on bash's default
# BASH_LOADABLES_PATH); stripped copies: the tree keeps the debug build.
BASHLIB  = $(PREFIX)/lib/bash
SHAREDIR = $(PREFIX)/share/bashsock
MANDIR   = $(PREFIX)/share/man
STRIP   ?= strip
INSTALLED = $(BASHLIB)/bashsock.so $(BASHLIB)/bashsock-helper \
            $(BASHLIB)/bashsock-helper-tls \
            $(SHAREDIR)/loader.sh $(MANDIR)/man1/bashsock.1 $(MANDIR)/man7/bashsock.7
install: all
	install -d $(DESTDIR)$(BASHLIB) $(DESTDIR)$(SHAREDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	install -m 0644 -s --strip-program=$(STRIP) $(SO) $(DESTDIR)$(BASHLIB)/bashsock.so
	install -m 0755 -s --strip-program=$(STRIP) $(HELPER) $(DESTDIR)$(BASHLIB)/bashsock-helper
	install -m 0755 -s --strip-program=$(STRIP) $(HELPER_TLS) $(DESTDIR)$(BASHLIB)/bashsock-helper-tls
	sed 's|@SO@|$(BASHLIB)/bashsock.so|' $(LOADER) > $(DESTDIR)$(SHAREDIR)/loader.sh
	chmod 0644 $(DESTDIR)$(SHAREDIR)/loader.sh
	$(MKMAN) $(SO) $(SHAREDIR)/loader.sh > $(DESTDIR)$(MANDIR)/man1/bashsock.1
	chmod 0644 $(DESTDIR)$(MANDIR)/man1/bashsock.1
	install -m 0644 man/bashsock.7 $(DESTDIR)$(MANDIR)/man7/bashsock.7

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(SHAREDIR) 2>/dev/null

# --- Debian package -------------------------------------------------------
# make deb: build/deb/bashsock_VERSION_ARCH.deb with dpkg-deb (no
# debhelper), then lintian on it. tools/mkdeb.sh says what goes where. The
# package's build is Debian's (dpkg-buildflags: fortified, stack
# protector), in a directory of its own; the tree's stays as it is.
DEB_BUILD := build/debbuild
deb:
	@tools/deps.sh build deb
	@$(MAKE) --no-print-directory BUILD=$(DEB_BUILD) SO=$(DEB_BUILD)/bashsock.so \
	    CFLAGS="$$(dpkg-buildflags --get CFLAGS) $$(dpkg-buildflags --get CPPFLAGS)" all
	@tools/mkdeb.sh $(VERSION) build/deb $(DEB_BUILD)
	lintian --display-info --pedantic build/deb/bashsock_$(VERSION)-1_*.deb

# --- hardening (issue 7) -------------------------------------------------
# check-asan: the bats suite against an ASan+UBSan build of the object.
# clang, not gcc: gcc's UBSan ignores log_path next to ASan, and a helper's
# stderr is /dev/null, so its reports would be lost.
ASAN_BUILD := build/asan
ASAN_CC    ?= clang
ASAN_SAN   := -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=all
# The helper program is built with them too, next to that object.
check-asan:
	@tools/deps.sh build test asan
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) SO=$(ASAN_BUILD)/bashsock.so \
	    CC=$(ASAN_CC) CFLAGS="-O1 -g" SAN="$(ASAN_SAN)" all
	@ASAN_CC=$(ASAN_CC) tools/check-asan.sh $(ASAN_BUILD)/bashsock.so $(ASAN_BATS)

# check-valgrind: a workload of every builtin under valgrind (memcheck).
check-valgrind:
	@tools/deps.sh build valgrind
	@$(MAKE) --no-print-directory all
	@tools/check-valgrind.sh

# check-stress: the fault and load suite, against the normal build.
check-stress:
	@tools/deps.sh build test
	@$(MAKE) --no-print-directory all
	@BATS_FILES=tests/stress.bats BATS_TEST_TIMEOUT=$${BATS_TEST_TIMEOUT:-1200} tools/run-tests.sh

# fuzz: every tests/fuzz/fuzz_NAME.c is a libFuzzer target, run for
# FUZZ_SECS seconds from its seeds in tests/fuzz/corpus/NAME (what it finds
# goes to build/fuzz/corpus/NAME; crashes to build/fuzz/crash/).
FUZZ_CC    ?= clang
FUZZ_SECS  ?= 60
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_BIN   := $(FUZZ_NAMES:%=build/fuzz/fuzz_%)
FUZZ_SAN   := -std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
              -fno-sanitize-recover=all
# lib/ with coverage and the sanitizers, into the fuzz targets' archive.
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=build/fuzz/%.o)
FUZZ_LIB_A   := build/fuzz/libbashsock.a
build/fuzz/lib/%.o: lib/%.c lib/*.h
	@mkdir -p build/fuzz/lib
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer-no-link,address,undefined $(WARN) -Ilib -c -o $@ $<
$(FUZZ_LIB_A): $(FUZZ_LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/*.h $(FUZZ_LIB_A) lib/*.h
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer,address,undefined $(WARN) -Ilib -o $@ $< \
	    $(FUZZ_LIB_A) $(LDLIBS) -lpthread

fuzz-build: $(FUZZ_BIN)
fuzz:
	@tools/deps.sh build fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@tools/fuzz.sh $(FUZZ_SECS) $(FUZZ_NAMES)

# lint: shellcheck, cppcheck, clang-tidy and the clang-format check.
lint:
	@tools/deps.sh build lint
	@tools/lint.sh "$(BASH_INC)"

FORMAT_SRC := $(wildcard lib/*.[ch] builtins/*.[ch] helper/*.c tests/unit/*.c bench/*.c tests/fuzz/*.c)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf $(BUILD) bashsock.so bashsock-helper bashsock-helper-tls $(LOADER)

.PHONY: all unit deps test demo bench install uninstall deb man format \
	format-check clean check-asan check-valgrind check-stress fuzz \
	fuzz-build lint
-include $(LIB_OBJ:.o=.d) $(BUILD)/helper/bashsock-helper.d \
    $(BUILD)/helper/bashsock-helper-tls.d
