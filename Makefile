# camsnap front door. `make demo` and `make test` each work alone on a fresh
# Debian 12 machine as root: they install what is missing first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build deps demo test test-unit test-integration test-asan fuzz fuzz-full bench clean \
        format reliability

all: build

deps:
	@scripts/install-deps

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

demo: deps
	@$(MAKE) --no-print-directory build
	@scripts/demo $(BUILD)/camsnap

test: deps
	@$(MAKE) --no-print-directory build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory fuzz

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit -j $(JOBS)

test-integration: build
	cd $(BUILD) && ctest --output-on-failure -L integration

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCAMSNAP_SANITIZE=address,undefined \
	      -DCAMSNAP_INTEGRATION_TESTS=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -L unit -j $(JOBS)

# libFuzzer targets (tests/fuzz) built with clang, ASan and UBSan, each run on a
# copy of its seed corpus: `fuzz` for 20 s each (CI), `fuzz-full` for 600 s each.
FUZZ_CONFIGURE = CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCAMSNAP_FUZZ=ON -DCAMSNAP_BUILD_TESTS=OFF -DCAMSNAP_INTEGRATION_TESTS=OFF \
	-DCAMSNAP_WERROR=ON

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
	@$(MAKE) --no-print-directory build
	CAMSNAP_BIN=$(BUILD)/camsnap tests/reliability/run-all --full

bench:
	@scripts/install-deps --bench
	@$(MAKE) --no-print-directory build
	@bench/run-all $(BUILD)/camsnap

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
