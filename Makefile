# pa: the parallel-accept server toolkit.
#
#   make               build bin/pa-*
#   make check         install what the tests need, build, run unit and bats tests
#   make check SANITIZE=1   the same under AddressSanitizer + UBSan
#   make lint          mandoc -Tlint on every page, shellcheck on every script
#   make run           the demo service on 127.0.0.1:$(PORT)
#   make install / uninstall   honour PREFIX and DESTDIR
#   make deb           the Debian packages pa and libpa-dev, in build/deb/
#   make check-deb     build them, install, serve, purge (as root; CI runs it)

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
LIBDIR	?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
PORT	?= 8080
HANDLERS ?= 4

CC	?= cc
WARN	= -std=c11 -g -Wall -Wextra -Werror -Wpedantic -Wshadow \
	  -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations \
	  -Wpointer-arith -Wcast-qual -Wwrite-strings -Wformat=2 -Wvla \
	  -fstack-protector-strong
ifeq ($(SANITIZE),1)
MODE	= san
OPT	= -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	  -fno-sanitize-recover=all
DEFS	= -D_GNU_SOURCE
else
MODE	= opt
OPT	= -O2
DEFS	= -D_GNU_SOURCE -D_FORTIFY_SOURCE=2
endif
CFLAGS	?=
LDFLAGS	?=
ALL_CFLAGS   = $(WARN) $(OPT) $(CFLAGS)
ALL_CPPFLAGS = $(DEFS) -Ilib $(shell pkg-config --cflags libbsd-overlay) $(CPPFLAGS)
LDLIBS	= $(shell pkg-config --libs libbsd-overlay) -lpthread

B	= build/$(MODE)
PROGS	= pa-listen pa-spawn pa-handler pa-ctl
BINS	= $(PROGS:%=bin/%)
EXAMPLES = examples/hello-http examples/echo
LIBSRC	= $(sort $(wildcard lib/*.c))
LIBOBJ	= $(LIBSRC:lib/%.c=$(B)/lib/%.o)
UNITSRC	= $(sort $(wildcard tests/unit/t_*.c))
UNITS	= $(UNITSRC:tests/unit/%.c=$(B)/unit/%)
HDRS	= $(wildcard lib/*.h) $(wildcard cmd/*/*.h) tests/unit/t.h
MANS	= $(sort $(wildcard man/*.[1-9]))
SCRIPTS	= $(sort .ci/run $(wildcard scripts/*.sh) tests/run tests/helper.bash tests/ctlpool.bash \
	  $(wildcard tests/*.bats) $(wildcard tests/deb/*.bats) \
	  $(wildcard tests/bin/*.sh) $(wildcard bench/*.sh) \
	  $(wildcard tests/*.sh) $(wildcard fuzz/*.sh))

.PHONY: all units check lint run install uninstall clean deps FORCE deb check-deb \
	bench bench-progs fbins fuzz fuzz-short soak bench-inproc
.SUFFIXES:

all: $(BINS) $(EXAMPLES)

# bin/ holds one build at a time; switching SANITIZE relinks it.
$(B)/.flags: FORCE
	@mkdir -p $(B)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_CPPFLAGS) $(LDLIBS)' | cmp -s - $@ || \
	    echo '$(CC) $(ALL_CFLAGS) $(ALL_CPPFLAGS) $(LDLIBS)' > $@
bin/.mode: FORCE
	@mkdir -p bin
	@echo '$(MODE)' | cmp -s - $@ || echo '$(MODE)' > $@

$(B)/lib/%.o: lib/%.c $(HDRS) $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_CPPFLAGS) -c -o $@ $<

$(B)/cmd/%.o: cmd/%.c $(HDRS) $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_CPPFLAGS) -c -o $@ $<

$(B)/libpa.a: $(LIBOBJ)
	rm -f $@
	ar rcs $@ $(LIBOBJ)

.SECONDEXPANSION:
# (No % inside: make puts the stem there before the second expansion.)
bin/%: $$(subst .c,.o,$$(addprefix $(B)/,$$(wildcard cmd/$$*/*.c))) $(B)/libpa.a bin/.mode
	@mkdir -p bin
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(B)/libpa.a $(LDLIBS)

$(B)/unit/%: tests/unit/%.c $(B)/libpa.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_CPPFLAGS) -Itests/unit -o $@ $< $(B)/libpa.a $(LDLIBS)

units: $(UNITS)

# The in-process handlers on libpa (man/libpa.3), built as a user would:
# <pa.h> and libpa.a, nothing of cmd/.
examples/%: examples/%.c $(B)/libpa.a $(HDRS) bin/.mode
	$(CC) $(ALL_CFLAGS) $(ALL_CPPFLAGS) $(LDFLAGS) -o $@ $< $(B)/libpa.a $(LDLIBS)

# pkg-config's description of the installed library.
build/pa.pc: pa.pc.in FORCE
	@mkdir -p build
	@sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' pa.pc.in | cmp -s - $@ || \
	    sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' pa.pc.in > $@

# The client programs of the fault suites (tests/bin/f-*.c): next to the
# units, found by tests/faults.bats through PA_UNITDIR.
FBINSRC	= $(sort $(wildcard tests/bin/f-*.c))
FBINS	= $(FBINSRC:tests/bin/%.c=$(B)/fbin/%)

$(B)/fbin/%: tests/bin/%.c $(B)/libpa.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_CPPFLAGS) -o $@ $< $(B)/libpa.a $(LDLIBS)

fbins: $(FBINS)

deps:
	@sh scripts/deps.sh check

# The whole suite: C unit tests (driven by tests/unit.bats) and every bats
# suite against the real programs.  Ends with "check: N passed, N failed".
check:
	@sh scripts/deps.sh check
	@$(MAKE) --no-print-directory all units fbins
	@PA_UNITDIR=$(CURDIR)/$(B)/unit PA_MODE=$(MODE) tests/run

lint:
	@sh scripts/deps.sh lint
	@# From man/: mandoc resolves an .Xr to a page in the current directory.
	cd man && mandoc -Tlint $(MANS:man/%=%)
	shellcheck -x $(SCRIPTS)

# The demo: the whole chain on 127.0.0.1:$(PORT), in the foreground.
run:
	@sh scripts/deps.sh build
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh $(PORT) $(HANDLERS)

# Benchmarks (bench/README.md), never part of check: pa against the peers.
# `make bench` installs the peers, builds everything optimised and runs
# bench/run.sh (BENCH_QUICK=1 for a one-minute smoke run).
BENCHPROGS = $(B)/bench/load $(B)/bench/spawnloop $(B)/bench/prefork \
	     $(B)/bench/sessstat $(B)/bench/hello-dyn $(B)/bench/hello-static \
	     $(B)/bench/herdspawn $(B)/bench/inproc-accept

$(B)/bench/%: bench/%.c bench/listen.h $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_CPPFLAGS) -o $@ $< $(LDLIBS)

$(B)/bench/herdspawn: bench/herdspawn.c $(B)/libpa.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_CPPFLAGS) -o $@ $< $(B)/libpa.a $(LDLIBS)

# An ordinary dynamic program: libc only.
$(B)/bench/hello-dyn: bench/hello-dyn.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEFS) -o $@ $<

# No libc and no start-up code: two raw system calls.
$(B)/bench/hello-static: bench/hello-static.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -fno-stack-protector -nostdlib -static -o $@ $<

bench-progs: $(BENCHPROGS)

bench:
	@sh scripts/deps.sh bench
	@$(MAKE) --no-print-directory SANITIZE= bench-progs
	@$(MAKE) --no-print-directory SANITIZE= all || \
	    echo "bench: the pa programs do not build: peers only" >&2
	@bash bench/run.sh

# libFuzzer targets (fuzz/README.md), never part of check: each fuzz/*.c
# linked with every lib/*.c under clang's fuzzer, ASan and UBSan.  `make
# fuzz` runs each for FUZZTIME seconds (60), `make fuzz-short` for 5.
FUZZCC	?= clang
FUZZTIME ?= 60
FUZZSRC	= $(sort $(wildcard fuzz/*.c))
FUZZERS	= $(FUZZSRC:fuzz/%.c=build/fuzz/%)

build/fuzz/%: fuzz/%.c $(LIBSRC) $(HDRS) cmd/pa-ctl/main.c
	@mkdir -p $(@D)
	$(FUZZCC) -std=c11 -g -O1 -fno-omit-frame-pointer \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -D_GNU_SOURCE -Ilib $(shell pkg-config --cflags libbsd-overlay) \
	    -o $@ $< $(LIBSRC) $(LDLIBS) -ldl

fuzz:
	@sh scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory $(FUZZERS)
	@sh fuzz/run.sh $(FUZZTIME) $(FUZZERS)

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=5

# A long run (tests/RELIABILITY.md), never part of check: 200000
# connections while pa-ctl scales the pool up and down.
soak:
	@sh scripts/deps.sh check
	@$(MAKE) --no-print-directory all fbins
	@PA_UNITDIR=$(CURDIR)/$(B)/unit bash tests/soak.sh

# In-process handlers (examples/hello-http on libpa) against nginx and a
# raw accept loop: bench/inproc.sh, never part of check.
bench-inproc:
	@sh scripts/deps.sh bench
	@$(MAKE) --no-print-directory SANITIZE= all build/opt/bench/load \
	    build/opt/bench/sessstat build/opt/bench/inproc-accept
	@bash bench/inproc.sh

# The Debian packages (debian/), built from a copy of the tree in
# build/deb/ so that dpkg-buildpackage's output stays inside build/.
DEBVER	= $(shell dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null)

deb:
	@sh scripts/deps.sh deb
	rm -rf build/deb
	mkdir -p build/deb/pa-$(DEBVER)
	tar -cf - --exclude=./.git --exclude=./build --exclude=./bin \
	    --exclude=./examples/hello-http --exclude=./examples/echo . | \
	    tar -C build/deb/pa-$(DEBVER) -xf -
	cd build/deb/pa-$(DEBVER) && dpkg-buildpackage -us -uc -b
	lintian --fail-on error,warning build/deb/pa_$(DEBVER)_*.changes

# Build, install with dpkg -i, serve through /usr/bin, purge: tests/deb/.
check-deb:
	@sh scripts/deps.sh check
	@$(MAKE) --no-print-directory deb
	@PA_DEBDIR=$(CURDIR)/build/deb tests/run tests/deb/*.bats

install: all build/pa.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	install -m 644 $(filter %.1,$(MANS)) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(filter %.7,$(MANS)) $(DESTDIR)$(MANDIR)/man7
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man3
	install -m 644 $(B)/libpa.a $(DESTDIR)$(LIBDIR)
	install -m 644 lib/pa.h $(DESTDIR)$(INCLUDEDIR)
	install -m 644 build/pa.pc $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 $(filter %.3,$(MANS)) $(DESTDIR)$(MANDIR)/man3

uninstall:
	rm -f $(PROGS:%=$(DESTDIR)$(BINDIR)/%)
	rm -f $(patsubst man/%,$(DESTDIR)$(MANDIR)/man1/%,$(filter %.1,$(MANS)))
	rm -f $(patsubst man/%,$(DESTDIR)$(MANDIR)/man7/%,$(filter %.7,$(MANS)))
	rm -f $(DESTDIR)$(LIBDIR)/libpa.a $(DESTDIR)$(INCLUDEDIR)/pa.h \
	    $(DESTDIR)$(PKGCONFIGDIR)/pa.pc
	rm -f $(patsubst man/%,$(DESTDIR)$(MANDIR)/man3/%,$(filter %.3,$(MANS)))

clean:
	rm -rf bin build $(EXAMPLES)
