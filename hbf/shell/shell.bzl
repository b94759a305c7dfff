"""The hbf binary crate (package `hbf`, hbf/shell), built once per embedded pod.

Cargo runs build.rs, which packs pods/base (or $HBF_POD) and sets HBF_POD_DB and
HBF_POD_NAME for `include_bytes!(env!("HBF_POD_DB"))` in src/pod.rs. Bazel does not
run build.rs: //tools:pod_binary.bzl packs the pod with the Bazel-built packer and
passes the same two variables here.
"""

load("@crates//:defs.bzl", "all_crate_deps")
load("@rules_rust//rust:defs.bzl", "rust_binary", "rust_test")
load("//tools:rust.bzl", "HBF_VERSION")

# hbf/shell/Cargo.toml's [dependencies] with a `path` (third-party ones come from
# crate_universe). tools/check-bazel-deps.py checks this list against Cargo.toml.
SHELL_DEPS = [
    "//hbf/db:hbf_db",
    "//hbf/dev:hbf_dev",
    "//hbf/http:hbf_http",
    "//hbf/qjs:hbf_qjs",
    "//tools/packer:hbf_pack",
]

_PACKAGE = "hbf/shell"

# hbf/shell/Cargo.toml's `description` (CARGO_PKG_DESCRIPTION, the first line of
# `hbf --help` through clap's `about`; rules_rust sets it empty). Checked by
# tools/check-bazel-deps.py.
HBF_DESCRIPTION = "HBF: one binary that serves a pod's static files and runs its JavaScript, all stored in SQLite"

def _crate_attrs(pod_db, pod_name):
    return dict(
        crate_name = "hbf",
        srcs = ["//hbf/shell:srcs"],
        crate_root = "//hbf/shell:src/main.rs",
        compile_data = ["//hbf/shell:compile_data", pod_db],
        rustc_env = {
            "CARGO_PKG_DESCRIPTION": HBF_DESCRIPTION,
            "HBF_POD_DB": "$(execpath %s)" % pod_db,
            "HBF_POD_NAME": pod_name,
        },
        deps = SHELL_DEPS + all_crate_deps(normal = True, package_name = _PACKAGE),
        proc_macro_deps = all_crate_deps(proc_macro = True, package_name = _PACKAGE),
        version = HBF_VERSION,
    )

def hbf_shell_binary(name, pod_db, pod_name, **kwargs):
    """The hbf server binary with `pod_db` embedded.

    Args:
      name: target name.
      pod_db: label of the packed pod database (see pod_db in //tools:pod_binary.bzl).
      pod_name: the pod's directory name (HBF_POD_NAME).
      **kwargs: passed to rust_binary.
    """
    attrs = _crate_attrs(pod_db, pod_name)
    attrs.update(kwargs)
    rust_binary(name = name, **attrs)

def hbf_shell_unit_test(name, pod_db, pod_name, **kwargs):
    """The binary crate's #[cfg(test)] tests, with `pod_db` embedded.

    Args:
      name: target name.
      pod_db: label of the packed pod database.
      pod_name: the pod's directory name.
      **kwargs: passed to rust_test.
    """
    attrs = _crate_attrs(pod_db, pod_name)
    attrs["deps"] = attrs["deps"] + all_crate_deps(normal_dev = True, package_name = _PACKAGE)
    attrs["proc_macro_deps"] = attrs["proc_macro_deps"] + all_crate_deps(proc_macro_dev = True, package_name = _PACKAGE)
    attrs["data"] = [pod_db]  # rust_test expands rustc_env's $(execpath) against data
    attrs.update(kwargs)
    rust_test(name = name, **attrs)
