"""pod_binary(name, pod): the hbf server with a pod embedded, at bazel-bin/bin/<name>.

    pod_binary(name = "hbf", pod = "//pods/base")

1. `<name>_pod_db`: the Bazel-built packer (//tools/packer:hbf-pack) packs the pod's
   files (the filegroup `pod`, named after its directory) into `<name>_pod_db.db`.
2. `<name>_server`: the hbf binary crate (hbf/shell) compiled with
   HBF_POD_DB / HBF_POD_NAME pointing at it (what hbf/shell/build.rs does for Cargo).
3. `<name>`: that binary built for x86_64-unknown-linux-musl (fully static,
   whatever --platforms says) and copied to bin/<name>.
4. `<name>_static_test`: checks that bin/<name> is static and starts with an
   empty environment.
"""

load("//hbf/shell:shell.bzl", "hbf_shell_binary")

_MUSL_PLATFORM = str(Label("//tools/toolchains:linux_x86_64_musl"))

# Copies each file to its place under its pod's directory in a scratch directory
# (the packer refuses symlinks that leave the pod, and sandboxes are made of
# symlinks), then packs the pod. An overlay pod's filegroup holds its base's
# files too (its `base` file names `../<base>`): they go to the base's directory
# beside it.
_PACK_SH = """\
set -eu
packer=$1 out=$2 name=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
while [ $# -ge 2 ]; do
  mkdir -p "$tmp/$(dirname "$2")"
  cp -L "$1" "$tmp/$2"
  shift 2
done
"$packer" "$tmp/$name" -o "$out" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
"""

def _pod_db_impl(ctx):
    package = ctx.attr.pod.label.package
    pod_name = package.split("/")[-1]
    out = ctx.actions.declare_file(ctx.label.name + ".db")
    packer = ctx.attr._packer[DefaultInfo].files_to_run
    args = ctx.actions.args()
    args.add(packer.executable)
    args.add(out)
    args.add(pod_name)
    for f in ctx.files.pod:
        # The pod's own files, and an overlay's base files: each under the
        # directory of the package that owns it.
        root = f.owner.workspace_root
        owner = (root + "/" if root else "") + f.owner.package + "/"
        if not f.is_source or not f.path.startswith(owner):
            fail("%s: %s is not a source file of a pod" % (ctx.attr.pod.label, f.path))
        args.add(f.path)
        args.add(f.owner.package.split("/")[-1] + "/" + f.path[len(owner):])
    ctx.actions.run_shell(
        command = _PACK_SH,
        arguments = [args],
        inputs = ctx.files.pod,
        tools = [packer],
        outputs = [out],
        # The packer's stored times (0 unless SOURCE_DATE_EPOCH is set): fixed.
        env = {"SOURCE_DATE_EPOCH": "0"},
        mnemonic = "PackPod",
        progress_message = "Packing pod %s into %%{output}" % ctx.attr.pod.label,
    )
    return [DefaultInfo(files = depset([out]))]

pod_db = rule(
    implementation = _pod_db_impl,
    doc = "Packs a pod (a filegroup named after its directory) into its template database.",
    attrs = {
        "pod": attr.label(mandatory = True, allow_files = True),
        # cfg = "target", not "exec": the packer runs on the build machine, and
        # every target platform here (x86_64 Linux, glibc or static musl) runs
        # there too. This way the packer shares the crates already built for the
        # target (hbf_db, hbf_qjs, SQLite, QuickJS) instead of building them a
        # third time in the exec configuration. Cross-compiling to another CPU
        # would need "exec" again.
        "_packer": attr.label(
            default = "//tools/packer:hbf-pack",
            executable = True,
            cfg = "target",
        ),
    },
)

def _musl_transition_impl(_settings, _attr):
    return {"//command_line_option:platforms": [_MUSL_PLATFORM]}

_musl_transition = transition(
    implementation = _musl_transition_impl,
    inputs = [],
    outputs = ["//command_line_option:platforms"],
)

def _static_binary_impl(ctx):
    src = ctx.attr.binary[0][DefaultInfo].files_to_run.executable
    out = ctx.actions.declare_file("bin/" + ctx.label.name)
    ctx.actions.run_shell(
        command = 'cp "$1" "$2" && chmod 0755 "$2"',
        arguments = [src.path, out.path],
        inputs = [src],
        outputs = [out],
        mnemonic = "CopyStaticBinary",
        progress_message = "Copying %{output}",
    )
    return [DefaultInfo(files = depset([out]), executable = out)]

static_binary = rule(
    implementation = _static_binary_impl,
    doc = "`binary` built for x86_64-unknown-linux-musl, copied to bin/<name>.",
    executable = True,
    attrs = {
        "binary": attr.label(mandatory = True, executable = True, cfg = _musl_transition),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
)

def pod_binary(name, pod, visibility = None, **kwargs):
    """The hbf server with `pod` embedded: a static binary at bazel-bin/bin/<name>.

    Args:
      name: target name, and the binary's file name under bin/.
      pod: the pod's filegroup, e.g. "//pods/base" (hbf/** and static/**).
      visibility: of the binary target.
      **kwargs: passed to the binary target (e.g. tags).
    """
    pod_label = native.package_relative_label(pod)
    pod_db(
        name = name + "_pod_db",
        pod = pod,
    )
    hbf_shell_binary(
        name = name + "_server",
        pod_db = ":" + name + "_pod_db",
        pod_name = pod_label.package.split("/")[-1],
    )
    static_binary(
        name = name,
        binary = ":" + name + "_server",
        visibility = visibility,
        **kwargs
    )

    # buildifier: disable=native-sh-test (Debian's Bazel 7.7.1 has no rules_shell)
    native.sh_test(
        name = name + "_static_test",
        srcs = ["//tools:static_binary_test.sh"],
        args = ["$(rootpath :%s)" % name],
        data = [":" + name],
    )
