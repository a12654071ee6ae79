# camsnap front door. `make demo` and `make test` each work alone on a fresh
# Debian 12 machine as root: they install what is missing first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
# FFmpeg libraries: minimal (static, only what camsnap uses, built once per Debian
# version by scripts/build-ffmpeg into ~/.cache/camsnap) or system (Debian's shared
# libraries). FFMPEG_PREFIX=DIR uses a minimal build already made there.
FFMPEG     ?= minimal
FFMPEG_PREFIX ?=
# make install: where (PREFIX) and under which staging root (DESTDIR).
PREFIX     ?= /usr/local
DESTDIR    ?=

.PHONY: all build deps deps-bench demo test test-unit test-integration test-asan fuzz fuzz-full \
        bench clean format reliability install package

all: build

# The CMake flags choosing FFmpeg. Expanding $(ffmpeg_use) builds the minimal
# FFmpeg if needed (scripts/build-ffmpeg prints its prefix last; at once when it
# is cached) and says once which FFmpeg is used; SUB passes the outcome on so that
# sub-makes neither run the script again nor repeat the message.
ifeq ($(FFMPEG),minimal)
ffmpeg_use = $(if $(FFMPEG_PREFIX),,$(ffmpeg_script))$(ffmpeg_say)
ffmpeg_flags = $(ffmpeg_use)-DCAMSNAP_FFMPEG=minimal -DCAMSNAP_FFMPEG_PREFIX=$(FFMPEG_PREFIX)
ffmpeg_which = minimal static build in $(FFMPEG_PREFIX) (FFMPEG=system: Debian's shared libraries)
else ifeq ($(FFMPEG),system)
ffmpeg_use = $(ffmpeg_say)
ffmpeg_flags = $(ffmpeg_use)-DCAMSNAP_FFMPEG=system
ffmpeg_which = Debian's shared libraries (FFMPEG=system)
else
$(error FFMPEG must be minimal or system, not '$(FFMPEG)')
endif
ffmpeg_script = $(eval FFMPEG_PREFIX := $(shell JOBS=$(JOBS) scripts/build-ffmpeg))$\
  $(if $(filter 0,$(.SHELLSTATUS)),,$(error scripts/build-ffmpeg failed (see above); \
    FFMPEG=system uses Debian's shared libraries instead))$\
  $(if $(word 2,$(FFMPEG_PREFIX)),$(error FFmpeg prefix '$(FFMPEG_PREFIX)' has a space: \
    set CAMSNAP_FFMPEG_CACHE))
ffmpeg_say = $(if $(FFMPEG_SHOWN),,$(eval FFMPEG_SHOWN := 1)$(info camsnap: FFmpeg: $(ffmpeg_which)))
SUB = $(ffmpeg_use)--no-print-directory FFMPEG=$(FFMPEG) FFMPEG_PREFIX=$(FFMPEG_PREFIX) FFMPEG_SHOWN=1

deps:
	@scripts/install-deps

deps-bench:
	@scripts/install-deps --bench

# Holds the FFmpeg flags $(BUILD) was configured with: a change (FFMPEG=..., a new
# Debian version of the minimal build) reconfigures it.
$(BUILD)/ffmpeg.flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(ffmpeg_flags)' | cmp -s - $@ || echo '$(ffmpeg_flags)' > $@
FORCE:

$(BUILD)/Makefile: CMakeLists.txt $(BUILD)/ffmpeg.flags
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(ffmpeg_flags) $(CMAKE_FLAGS)

build: $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

# The binary, man pages, systemd unit, sample configuration and bash
# completion under $(DESTDIR)$(PREFIX) (GNUInstallDirs layout). umask 022:
# CMake creates missing directories with the caller's umask.
install: build
	umask 022 && DESTDIR='$(DESTDIR)' cmake --install $(BUILD) --prefix '$(PREFIX)'

# The Debian package $(BUILD)/camsnap_<version>_<arch>.deb (CPack; dpkg-shlibdeps
# from dpkg-dev computes Depends), linked like `make build`.
package: build
	cd $(BUILD) && umask 022 && cpack -G DEB
	@ls $(BUILD)/camsnap_*.deb

demo: deps
	@$(MAKE) $(SUB) build
	@scripts/demo $(BUILD)/camsnap

test: deps
	@$(MAKE) $(SUB) build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900
	@$(MAKE) $(SUB) test-asan
	@$(MAKE) $(SUB) fuzz

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit -j $(JOBS)

test-integration: build
	cd $(BUILD) && ctest --output-on-failure -L integration

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCAMSNAP_SANITIZE=address,undefined \
	      -DCAMSNAP_INTEGRATION_TESTS=OFF $(ffmpeg_flags)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -L unit -j $(JOBS)

# libFuzzer targets (tests/fuzz) built with clang, ASan and UBSan, each run on a
# copy of its seed corpus: `fuzz` for 20 s each (CI), `fuzz-full` for 600 s each.
FUZZ_CONFIGURE = CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCAMSNAP_FUZZ=ON -DCAMSNAP_BUILD_TESTS=OFF -DCAMSNAP_INTEGRATION_TESTS=OFF \
	-DCAMSNAP_WERROR=ON $(ffmpeg_flags)

fuzz:
	$(FUZZ_CONFIGURE) -DCAMSNAP_FUZZ_SECONDS=20
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	cd $(FUZZ_BUILD) && ctest --output-on-failure -L fuzz -j $(JOBS)

fuzz-full:
	$(FUZZ_CONFIGURE) -DCAMSNAP_FUZZ_SECONDS=600
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	cd $(FUZZ_BUILD) && ctest --output-on-failure -L fuzz -j $(JOBS)

# Every reliability case at full size, then one summary table (long: hours).
reliability: deps
	@$(MAKE) $(SUB) build
	CAMSNAP_BIN=$(BUILD)/camsnap tests/reliability/run-all --full

bench: deps-bench
	@$(MAKE) $(SUB) build
	@bench/run-all $(BUILD)/camsnap

format:
	clang-format -i src/*/*.c src/*/*.h tests/unit/*.c

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
