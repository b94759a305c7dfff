#!/usr/bin/env python3
"""Fails when the Bazel graph and the Cargo manifests disagree.

Cargo.toml files are the single source of dependency truth. crate_universe gives
Bazel the third-party crates (all_crate_deps() in each BUILD.bazel); path
dependencies on workspace crates are listed by hand. This check catches drift:

* every workspace member has a BUILD.bazel and is listed in MODULE.bazel's
  crate.from_cargo(manifests = ...);
* every Rust target's dependencies (deps + proc_macro_deps, unit tests including
  their crate's) are exactly its Cargo package's: [dependencies] for libraries and
  binaries, plus [dev-dependencies] for tests and benches;
* every tests/*.rs and benches/*.rs has its Bazel target;
* a package with a build.rs has a cargo_build_script, or is known to be replaced
  (hbf/shell's build.rs packs the pod: pod_binary does that in Bazel);
* HBF_VERSION (tools/rust.bzl) is the workspace version, and HBF_DESCRIPTION
  (hbf/shell/shell.bzl, CARGO_PKG_DESCRIPTION for `hbf --help`) hbf/shell's
  description.

Usage: python3 tools/check-bazel-deps.py   (runs `tools/bazel query`; Python >= 3.11)
"""

import re
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Packages whose build.rs Bazel replaces on purpose.
BUILD_RS_REPLACED = {"hbf/shell": "pod_binary packs the pod and sets HBF_POD_DB / HBF_POD_NAME"}
RUST_KINDS = ("rust_library", "rust_binary", "rust_test", "rust_proc_macro", "cargo_build_script")

errors: list[str] = []


def err(msg: str) -> None:
    errors.append(msg)


def norm(name: str) -> str:
    return name.replace("-", "_")


def cargo_deps(table: dict) -> set[str]:
    """Crate names (as `use`d) of a Cargo dependency table."""
    out = set()
    for key, spec in (table or {}).items():
        if isinstance(spec, dict) and spec.get("optional"):
            continue  # only with a feature; none in this workspace today
        out.add(norm(key))
    return out


def main() -> int:
    ws = tomllib.loads((ROOT / "Cargo.toml").read_text())
    members = ws["workspace"]["members"]
    ws_version = ws["workspace"].get("package", {}).get("version")

    module = (ROOT / "MODULE.bazel").read_text()
    rust_bzl = (ROOT / "tools/rust.bzl").read_text()
    m = re.search(r'^HBF_VERSION = "([^"]+)"', rust_bzl, re.M)
    if not m or m.group(1) != ws_version:
        err(f"tools/rust.bzl HBF_VERSION is {m and m.group(1)!r}, Cargo.toml's workspace version is {ws_version!r}")
    shell_desc = tomllib.loads((ROOT / "hbf/shell/Cargo.toml").read_text())["package"].get("description")
    m = re.search(r'^HBF_DESCRIPTION = "([^"]*)"', (ROOT / "hbf/shell/shell.bzl").read_text(), re.M)
    if not m or m.group(1) != shell_desc:
        err(f"hbf/shell/shell.bzl HBF_DESCRIPTION is {m and m.group(1)!r}, hbf/shell/Cargo.toml's description is {shell_desc!r}")

    packages = {}  # dir -> info
    for member in members:
        manifest = tomllib.loads((ROOT / member / "Cargo.toml").read_text())
        pkg = manifest["package"]
        lib_name = norm(manifest.get("lib", {}).get("name", pkg["name"]))
        has_lib = (ROOT / member / "src/lib.rs").exists() or "lib" in manifest
        packages[member] = {
            "name": pkg["name"],
            "lib": lib_name if has_lib else None,
            "normal": cargo_deps(manifest.get("dependencies")),
            "dev": cargo_deps(manifest.get("dev-dependencies")),
            "build": cargo_deps(manifest.get("build-dependencies")),
            "build_rs": (ROOT / member / pkg.get("build", "build.rs")).exists() if pkg.get("build", True) else False,
        }
        if not (ROOT / member / "BUILD.bazel").exists():
            err(f"{member}: no BUILD.bazel (see DOCS/BUILD.md, 'Adding a crate')")
        if f'"//{member}:Cargo.toml"' not in module:
            err(f'MODULE.bazel: add "//{member}:Cargo.toml" to crate.from_cargo(manifests = ...)')
    for label in re.findall(r'"//([^":]*):Cargo.toml"', module):
        if label and label not in packages:
            err(f"MODULE.bazel lists //{label}:Cargo.toml, which is not a workspace member")

    # The Rust rules of the whole graph.
    query = "kind('(%s) rule', //...)" % "|".join(RUST_KINDS)
    proc = subprocess.run(
        [str(ROOT / "tools/bazel"), "query", query, "--output=xml", "--noimplicit_deps"],
        cwd=ROOT, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        err("bazel query failed")
        return report()
    rules = {}
    for rule in ET.fromstring(proc.stdout).iter("rule"):
        attrs = {}
        for child in rule:
            name = child.get("name")
            if child.tag == "list":
                attrs[name] = [e.get("value") for e in child.iter("label")]
            elif child.tag == "label":
                attrs[name] = child.get("value")
            elif child.tag == "string":
                attrs[name] = child.get("value")
        rules[rule.get("name")] = (rule.get("class"), attrs)

    def crate_of(label: str) -> str | None:
        """The crate name a dependency label provides."""
        if label in rules:
            kind, attrs = rules[label]
            return norm(attrs.get("crate_name") or label.rsplit(":", 1)[1])
        m = re.match(r"^@@?[^/]*crates__(.+?)-\d+\.\d+\.\d+[^/]*//:", label)
        if m:
            return norm(m.group(1))
        m = re.match(r"^@@?[^/]*crates//:(.+?)-\d+\.\d+\.\d+.*$", label)
        if m:
            return norm(m.group(1))
        return None

    def package_of(label: str) -> str | None:
        kind, attrs = rules[label]
        root = attrs.get("crate_root")
        if root:
            return root.lstrip("/").split(":")[0] if root.startswith("//") else None
        if attrs.get("crate"):
            return package_of(attrs["crate"]) if attrs["crate"] in rules else None
        srcs = attrs.get("srcs") or []
        return srcs[0].lstrip("/").split(":")[0] if srcs and srcs[0].startswith("//") else None

    def deps_of(label: str) -> set[str]:
        kind, attrs = rules[label]
        labels = (attrs.get("deps") or []) + (attrs.get("proc_macro_deps") or [])
        out = set()
        for d in labels:
            c = crate_of(d)
            if c is None:
                err(f"{label}: cannot tell which crate {d} is")
            else:
                out.add(c)
        if attrs.get("crate") in rules:
            out |= deps_of(attrs["crate"])
        return out

    seen_tests: dict[str, set[str]] = {m: set() for m in packages}
    checked = 0
    for label, (kind, attrs) in sorted(rules.items()):
        if kind == "cargo_build_script":
            continue
        pkg_dir = package_of(label)
        if pkg_dir not in packages:
            err(f"{label}: its sources are not in a workspace member ({pkg_dir})")
            continue
        info = packages[pkg_dir]
        root = attrs.get("crate_root") or ""
        src_file = root.split(":", 1)[1] if ":" in root else ""
        is_test = kind == "rust_test" or src_file.startswith("benches/")
        want = set(info["normal"]) | (info["dev"] if is_test else set())
        have = deps_of(label)
        own = {info["lib"]} if info["lib"] else set()
        if kind == "rust_library":
            own = set()
        missing = want - have
        extra = have - want - own
        if missing:
            err(f"{label}: Cargo.toml of {pkg_dir} has {sorted(missing)}, the Bazel target does not")
        if extra:
            err(f"{label}: depends on {sorted(extra)}, which {pkg_dir}/Cargo.toml does not list")
        if src_file.startswith(("tests/", "benches/")):
            seen_tests[pkg_dir].add(src_file)
        checked += 1

    for member, info in packages.items():
        for pattern in ("tests/*.rs", "tests/*/main.rs", "benches/*.rs"):
            for f in sorted((ROOT / member).glob(pattern)):
                rel = str(f.relative_to(ROOT / member))
                if rel not in seen_tests[member]:
                    err(f"{member}/{rel}: no Bazel target builds it")
        if info["build_rs"] and member not in BUILD_RS_REPLACED:
            if not any(k == "cargo_build_script" and package_of(l) == member for l, (k, _) in rules.items()):
                err(f"{member}: has a build.rs but no cargo_build_script in its BUILD.bazel")

    print(f"checked {checked} Rust targets of {len(packages)} workspace members against their Cargo.toml")
    return report()


def report() -> int:
    if errors:
        print("Bazel graph and Cargo manifests disagree:", file=sys.stderr)
        for e in errors:
            print(f"  - {e}", file=sys.stderr)
        return 1
    print("ok: every Cargo.toml dependency is in the Bazel graph")
    return 0


if __name__ == "__main__":
    sys.exit(main())
