"""Macros for HBF's Rust crates: each Cargo package needs one small BUILD.bazel.

Third-party dependencies follow the package's Cargo.toml through crate_universe
(`all_crate_deps()` reads what `crate.from_cargo` in MODULE.bazel resolved from the
same Cargo.toml files and Cargo.lock). Path dependencies on other workspace crates
are listed in the BUILD.bazel (`deps`); tools/check-bazel-deps.py fails when one
is missing.
"""

load("@crates//:defs.bzl", "all_crate_deps")
load("@rules_rust//rust:defs.bzl", "rust_binary", "rust_library", "rust_test")

# [workspace.package] version in Cargo.toml (CARGO_PKG_VERSION; checked by
# tools/check-bazel-deps.py).
HBF_VERSION = "0.1.0"

def crate_compile_data():
    """Files of the package that include_str!/include_bytes! may read.

    Everything but Rust sources, tests, benches and build files.

    Returns:
      A list of files.
    """
    return native.glob(
        ["**"],
        exclude = [
            "**/*.rs",
            "BUILD.bazel",
            "Cargo.toml",
            "benches/**",
            "proptest-regressions/**",
            "target/**",
            "tests/**",
        ],
        allow_empty = True,
    )

def _test_env(data, env):
    """Runfiles and environment every test gets (see HBF_REPO_CARGO_TOML)."""
    return (
        data + ["//:Cargo.toml"],
        # CARGO_MANIFEST_DIR names the compile sandbox: tests find the checkout
        # through this link instead (see repo() in tools/packer/tests/pack.rs).
        dict({"HBF_REPO_CARGO_TOML": "$(rootpath //:Cargo.toml)"}, **env),
    )

def hbf_rust_library(name, crate_name = None, deps = [], extra_compile_data = [], test_data = [], test_env = {}, **kwargs):
    """The package's library (src/lib.rs) and its unit tests (`<name>_unit_test`).

    Args:
      name: the target name, usually the crate name (`hbf_db`).
      crate_name: the crate name, when it differs from `name`.
      deps: other workspace crates this one depends on ([dependencies] with a path).
      extra_compile_data: files of other packages that include_bytes! reads.
      test_data: runtime files of the unit tests.
      test_env: their runtime environment.
      **kwargs: passed to rust_library.
    """
    rust_library(
        name = name,
        crate_name = crate_name,
        srcs = native.glob(["src/**/*.rs"], exclude = ["src/main.rs", "src/bin/**"]),
        crate_root = "src/lib.rs",
        compile_data = crate_compile_data() + extra_compile_data,
        deps = deps + all_crate_deps(normal = True),
        proc_macro_deps = all_crate_deps(proc_macro = True),
        version = HBF_VERSION,
        visibility = ["//visibility:public"],
        **kwargs
    )
    data, env = _test_env(test_data, test_env)
    rust_test(
        name = name + "_unit_test",
        crate = ":" + name,
        data = data,
        env = env,
        deps = all_crate_deps(normal_dev = True),
        proc_macro_deps = all_crate_deps(proc_macro_dev = True),
    )

def hbf_rust_binary(name, crate_root = "src/main.rs", deps = [], **kwargs):
    """A binary of the package (src/main.rs by default) and its unit tests.

    Args:
      name: the binary's name, as in Cargo.toml's [[bin]].
      crate_root: its main source file.
      deps: workspace crates it uses (the package's own library included).
      **kwargs: passed to rust_binary.
    """
    rust_binary(
        name = name,
        srcs = [crate_root],
        crate_root = crate_root,
        compile_data = crate_compile_data(),
        deps = deps + all_crate_deps(normal = True),
        proc_macro_deps = all_crate_deps(proc_macro = True),
        version = HBF_VERSION,
        visibility = ["//visibility:public"],
        **kwargs
    )
    rust_test(
        name = name.replace("-", "_") + "_bin_unit_test",
        crate = ":" + name,
        deps = all_crate_deps(normal_dev = True),
        proc_macro_deps = all_crate_deps(proc_macro_dev = True),
    )

def hbf_integration_tests(crate = None, deps = [], data = [], env = {}, rustc_env = {}, **kwargs):
    """One rust_test per Cargo integration test: tests/*.rs and tests/*/main.rs.

    Test `tests/open.rs` becomes `:open_test`. Each gets the package's library, its
    [dependencies] and [dev-dependencies], as Cargo does.

    Args:
      crate: the package's library target (e.g. ":hbf_db"); None for a package
        without a library.
      deps: other workspace crates the tests use ([dependencies] of a package
        without a library, [dev-dependencies] with a path).
      data: runtime files (runfiles), e.g. pods.
      env: runtime environment; $(rootpath ...) of `data` is expanded.
      rustc_env: compile-time environment (env!), e.g. CARGO_BIN_EXE_<name>.
      **kwargs: passed to every rust_test (size, tags, ...).
    """
    test_data, test_env = _test_env(
        data + native.glob(["proptest-regressions/**", "tests/**"], exclude = ["**/*.rs"], allow_empty = True),
        env,
    )
    roots = native.glob(["tests/*.rs", "tests/*/main.rs"], allow_empty = True)
    helpers = [f for f in native.glob(["tests/**/*.rs"], allow_empty = True) if f not in roots]
    for root in roots:
        stem = root[len("tests/"):]
        stem = stem[:-len("/main.rs")] if stem.endswith("/main.rs") else stem[:-len(".rs")]
        rust_test(
            name = stem + "_test",
            crate_name = stem.replace("-", "_"),
            srcs = [root] + helpers,
            crate_root = root,
            compile_data = crate_compile_data(),
            data = test_data,
            env = test_env,
            rustc_env = rustc_env,
            deps = ([crate] if crate else []) + deps + all_crate_deps(normal = True, normal_dev = True),
            proc_macro_deps = all_crate_deps(proc_macro = True, proc_macro_dev = True),
            version = HBF_VERSION,
            **kwargs
        )

def hbf_benches(crate, deps = []):
    """Builds each benches/*.rs (Criterion, harness = false) as `:<stem>_bench`.

    `bazel build //...` compiles them; run one with `tools/bazel run //pkg:<stem>_bench`.

    Args:
      crate: the package's library target.
      deps: extra workspace crates from [dev-dependencies].
    """
    for src in native.glob(["benches/*.rs"], allow_empty = True):
        stem = src[len("benches/"):-len(".rs")]
        rust_binary(
            name = stem + "_bench",
            crate_name = stem.replace("-", "_"),
            # A bench may share the integration tests' helpers (#[path]).
            srcs = [src] + native.glob(["tests/common/**/*.rs"], allow_empty = True),
            crate_root = src,
            deps = [crate] + deps + all_crate_deps(normal = True, normal_dev = True),
            proc_macro_deps = all_crate_deps(proc_macro = True, proc_macro_dev = True),
            version = HBF_VERSION,
        )

def hbf_crate(
        name,
        deps = [],
        dev_deps = [],
        binaries = {},
        extra_compile_data = [],
        test_data = [],
        test_env = {},
        test_rustc_env = {},
        test_tags = [],
        **kwargs):
    """A whole Cargo package with a library: what `cargo test` builds and runs.

    * `:<name>`: the library (src/lib.rs) and `:<name>_unit_test`;
    * one rust_binary per entry of `binaries` (and its `_bin_unit_test`);
    * `:<stem>_test` per tests/*.rs (and tests/*/main.rs);
    * `:<stem>_bench` per benches/*.rs (built, not run).

    Args:
      name: the library's crate name (`[lib] name`, e.g. "hbf_db").
      deps: the package's [dependencies] with a `path` (workspace crates).
      dev_deps: its [dev-dependencies] with a `path`.
      binaries: {"bin name": "src/main.rs"} for each [[bin]].
      extra_compile_data: files of other packages the library's include_bytes! reads.
      test_data: runtime files of the integration tests (pods, binaries: rules_rust
        sets CARGO_BIN_EXE_<name> for a rust_binary listed here).
      test_env: their runtime environment.
      test_rustc_env: their compile-time environment.
      test_tags: tags of the integration tests (e.g. "manual" for a test that
        needs what the Bazel chroot lacks).
      **kwargs: passed to rust_library.
    """
    hbf_rust_library(
        name = name,
        deps = deps,
        extra_compile_data = extra_compile_data,
        test_data = test_data,
        test_env = test_env,
        **kwargs
    )
    for bin_name, main in binaries.items():
        hbf_rust_binary(name = bin_name, crate_root = main, deps = [":" + name] + deps)
    hbf_integration_tests(
        crate = ":" + name,
        deps = deps + dev_deps,
        data = test_data,
        env = test_env,
        rustc_env = test_rustc_env,
        tags = test_tags,
    )
    hbf_benches(crate = ":" + name, deps = deps + dev_deps)
