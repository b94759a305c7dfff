//! The packer against the real pods and against broken ones.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use hbf_db::Database;
use hbf_pack::{pack, PackError, PackOptions};
use hbf_qjs::{LoadedFrom, PodCode};
use rquickjs::{Context, Runtime};

fn repo() -> PathBuf {
    // Under Bazel, CARGO_MANIFEST_DIR names the compile action's sandbox, gone by
    // now: the rust_test (tools/packer/BUILD.bazel) names Cargo.toml in its
    // runfiles instead, a link back to the checkout.
    if let Some(cargo_toml) = std::env::var_os("HBF_REPO_CARGO_TOML") {
        let real = std::fs::canonicalize(cargo_toml).unwrap();
        return real.parent().unwrap().to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Copies a directory tree (files and directories only).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// Sets every file's modification time under `dir`.
fn touch_all(dir: &Path, time: SystemTime) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            touch_all(&entry.path(), time);
        } else {
            std::fs::File::options()
                .write(true)
                .open(entry.path())
                .unwrap()
                .set_modified(time)
                .unwrap();
        }
    }
}

/// A minimal valid pod in a temp dir.
fn tiny_pod() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("hbf/lib")).unwrap();
    std::fs::create_dir_all(dir.path().join("static")).unwrap();
    std::fs::write(
        dir.path().join("hbf/server.js"),
        "import { value } from './lib/value.js';\nglobalThis.answer = value;\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("hbf/lib/value.js"),
        "export const value = 42;\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("static/a.txt"), "hello").unwrap();
    dir
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn packing_is_reproducible_across_checkouts_and_mtimes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let pod_a = a.path().join("one/pods/base");
    let pod_b = b.path().join("elsewhere/deeper/base");
    copy_tree(&repo().join("pods/base"), &pod_a);
    copy_tree(&repo().join("pods/base"), &pod_b);
    touch_all(
        &pod_a,
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
    );
    touch_all(&pod_b, SystemTime::now());
    let out_a = a.path().join("fs.db");
    let out_b = b.path().join("other-name.db");
    let options = PackOptions::default();
    pack(&pod_a, &out_a, &options).unwrap();
    pack(&pod_b, &out_b, &options).unwrap();
    let (bytes_a, bytes_b) = (
        std::fs::read(&out_a).unwrap(),
        std::fs::read(&out_b).unwrap(),
    );
    assert!(
        bytes_a == bytes_b,
        "outputs differ ({} vs {} bytes)",
        bytes_a.len(),
        bytes_b.len()
    );
    // A different SOURCE_DATE_EPOCH is a different (but again fixed) output.
    let out_c = a.path().join("c.db");
    pack(
        &pod_a,
        &out_c,
        &PackOptions {
            mtime: 1_700_000_000,
            ..options
        },
    )
    .unwrap();
    assert_ne!(std::fs::read(&out_c).unwrap(), bytes_a);
}

#[test]
fn sqlite3_lists_exactly_the_pods_files_and_the_database_is_sound() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fs.db");
    let report = pack(&repo().join("pods/base"), &out, &PackOptions::default()).unwrap();
    let listed = Command::new("sqlite3")
        .arg(&out)
        .args(["-A", "-t"])
        .output()
        .expect("the sqlite3 command-line tool must be installed");
    assert!(listed.status.success());
    let mut listed: Vec<String> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    listed.sort();
    let mut expected = Vec::new();
    for top in ["hbf", "static"] {
        walk(&repo().join("pods/base").join(top), top, &mut expected);
    }
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(report.files, expected.len());
    assert!(report
        .to_string()
        .contains(&format!("{} files", expected.len())));

    let db = Database::open(&out).unwrap();
    let (check, tables): (String, Vec<String>) = db
        .read(|c| {
            let check = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            let mut stmt =
                c.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")?;
            let tables = stmt
                .query_map([], |r| r.get(0))?
                .collect::<hbf_db::rusqlite::Result<_>>()?;
            Ok((check, tables))
        })
        .unwrap();
    assert_eq!(check, "ok");
    for table in [
        "hbf_fs_content",
        "hbf_fs_file",
        "hbf_fs_version",
        "hbf_import",
        "hbf_module_cache",
        "sqlar",
    ] {
        assert!(
            tables.iter().any(|t| t == table),
            "missing table {table}: {tables:?}"
        );
    }
    for path in &expected {
        let on_disk = std::fs::read(repo().join("pods/base").join(path)).unwrap();
        assert_eq!(db.fs().read(path).unwrap(), on_disk, "{path}");
        assert_eq!(db.fs().version_count(path).unwrap(), 1);
    }
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = format!("{prefix}/{}", entry.file_name().to_str().unwrap());
        if entry.file_type().unwrap().is_dir() {
            walk(&entry.path(), &name, out);
        } else {
            out.push(name);
        }
    }
}

/// Packs `pod`, expects a failure whose message contains `needle`, and checks
/// that the output directory holds nothing new.
fn refused(pod: &Path, options: &PackOptions, needle: &str) -> PackError {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("fs.db");
    let err = pack(pod, &out, options).unwrap_err();
    assert!(err.to_string().contains(needle), "{needle:?} not in: {err}");
    assert!(
        names_in(out_dir.path()).is_empty(),
        "left behind: {:?}",
        names_in(out_dir.path())
    );
    err
}

#[test]
fn refuses_a_pod_without_server_js() {
    let pod = tiny_pod();
    std::fs::remove_file(pod.path().join("hbf/server.js")).unwrap();
    let err = refused(
        pod.path(),
        &PackOptions::default(),
        "hbf/server.js is missing",
    );
    assert!(matches!(err, PackError::NoServer { .. }));
}

#[test]
fn refuses_a_syntax_error_naming_file_and_line() {
    let pod = tiny_pod();
    let bad = pod.path().join("hbf/lib/broken.js");
    std::fs::write(&bad, "export const a = 1;\nexport const b = ;\n").unwrap();
    let err = refused(
        pod.path(),
        &PackOptions::default(),
        &bad.display().to_string(),
    );
    assert!(matches!(err, PackError::Syntax { .. }));
    assert!(err.to_string().contains("hbf/lib/broken.js:2"), "{err}");
    assert!(err.to_string().contains("SyntaxError"), "{err}");
}

#[test]
fn refuses_a_type_syntax_error_naming_file_line_and_column() {
    let pod = tiny_pod();
    let bad = pod.path().join("hbf/lib/broken.ts");
    std::fs::write(
        &bad,
        "export interface A { x: number }\nexport const b: A = { x: 1 };\nlet c: = 2;\n",
    )
    .unwrap();
    let err = refused(
        pod.path(),
        &PackOptions::default(),
        &bad.display().to_string(),
    );
    assert!(matches!(err, PackError::Syntax { .. }));
    assert!(
        err.to_string()
            .contains("hbf/lib/broken.ts:3:8: SyntaxError: "),
        "{err}"
    );
    // Fixed, it packs, and a TypeScript server module is a server module.
    std::fs::write(&bad, "export const b: number = 1;\n").unwrap();
    std::fs::rename(
        pod.path().join("hbf/server.js"),
        pod.path().join("hbf/server.ts"),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let report = pack(
        pod.path(),
        &out.path().join("fs.db"),
        &PackOptions::default(),
    )
    .unwrap();
    assert_eq!(report.modules, 3, "{report}");
    // A tsconfig.json the transform cannot honour is refused too.
    let tsconfig = pod.path().join("hbf/tsconfig.json");
    std::fs::write(&tsconfig, r#"{"compilerOptions": {"jsx": "react"}}"#).unwrap();
    let err = refused(
        pod.path(),
        &PackOptions::default(),
        &tsconfig.display().to_string(),
    );
    assert!(err.to_string().contains("\"react-jsx\""), "{err}");
}

#[test]
fn packed_typescript_loads_from_bytecode_without_a_transform() {
    let pod = tiny_pod();
    std::fs::remove_file(pod.path().join("hbf/server.js")).unwrap();
    std::fs::write(
        pod.path().join("hbf/server.ts"),
        "import { value } from './lib/value';\nconst n: number = value;\nglobalThis.answer = n;\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fs.db");
    pack(pod.path(), &out, &PackOptions::default()).unwrap();
    let db = open_as_template(&out);
    let modules = PodCode::new(db).with_log();
    let (loads, answer) = run_with(&modules, "hbf/server.ts");
    assert_eq!(answer, 42);
    assert!(
        loads.iter().all(|(_, from)| *from == LoadedFrom::Bytecode),
        "{loads:?}"
    );
    assert_eq!(modules.transforms(), 0);
}

#[test]
fn refuses_invalid_paths() {
    for name in ["bad\nname.txt", "back\\slash.txt"] {
        let pod = tiny_pod();
        std::fs::write(pod.path().join("static").join(name), "x").unwrap();
        let err = refused(pod.path(), &PackOptions::default(), "invalid pod path");
        assert!(
            err.to_string()
                .contains(&pod.path().join("static").join(name).display().to_string()),
            "{err}"
        );
    }
}

#[test]
fn refuses_a_symlink_that_leaves_the_pod_and_follows_one_that_stays() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    let pod = tiny_pod();
    let link = pod.path().join("static/leak.txt");
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), &link).unwrap();
    let err = refused(
        pod.path(),
        &PackOptions::default(),
        &link.display().to_string(),
    );
    assert!(matches!(err, PackError::SymlinkEscapes { .. }), "{err}");

    let pod = tiny_pod();
    std::os::unix::fs::symlink("a.txt", pod.path().join("static/alias.txt")).unwrap();
    std::os::unix::fs::symlink("..", pod.path().join("static/loop")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fs.db");
    let report = pack(pod.path(), &out, &PackOptions::default()).unwrap();
    let db = Database::open(&out).unwrap();
    assert_eq!(db.fs().read("static/alias.txt").unwrap(), b"hello");
    // `static/loop` leads to the pod's root: inside the pod, but its hbf/ and
    // static/ were walked already, and the walk enters no directory twice.
    assert!(db.fs().list("static/loop").unwrap().is_empty());
    assert_eq!(report.files, 4);
}

#[test]
fn refuses_a_file_over_the_size_limit() {
    let pod = tiny_pod();
    let big = pod.path().join("static/big.bin");
    std::fs::write(&big, vec![0u8; 2048]).unwrap();
    let options = PackOptions {
        max_file_bytes: 1024,
        ..PackOptions::default()
    };
    let err = refused(pod.path(), &options, &big.display().to_string());
    assert!(
        err.to_string()
            .contains("2048 bytes is over the 1024-byte limit"),
        "{err}"
    );
}

/// Evaluates `module` with `modules` in a fresh runtime; returns the loads this
/// evaluation made, and the `answer` global the module set.
fn run_with(modules: &PodCode, module: &str) -> (Vec<(String, LoadedFrom)>, i32) {
    let before = modules.log().entries().len();
    let runtime = Runtime::new().unwrap();
    let context = Context::full(&runtime).unwrap();
    hbf_qjs::install_loader(&runtime, modules);
    let answer = context.with(|ctx| {
        let m = hbf_qjs::load_module(&ctx, modules, module).unwrap();
        let (_, promise) = m.eval().unwrap();
        promise.finish::<()>().unwrap();
        ctx.globals().get::<_, i32>("answer").unwrap()
    });
    let mut loads = modules.log().entries().split_off(before);
    loads.sort_by(|a, b| a.0.cmp(&b.0)); // a module's imports finish loading before it does
    (loads, answer)
}

/// The packed pod as the server opens it: as its template, whose compiled
/// modules it trusts (stored bytecode in a database opened any other way is
/// ignored, see hbf_db::ModuleCache).
fn open_as_template(out: &std::path::Path) -> Database {
    Database::memory_from_template(&std::fs::read(out).unwrap()).unwrap()
}

fn run_module(db: &Database, module: &str) -> (Vec<(String, LoadedFrom)>, i32) {
    run_with(&PodCode::new(db.clone()).with_log(), module)
}

#[test]
fn modules_load_from_stored_bytecode_without_their_source() {
    let pod = tiny_pod();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fs.db");
    let report = pack(pod.path(), &out, &PackOptions::default()).unwrap();
    assert_eq!(report.modules, 2);
    let db = open_as_template(&out);
    // Replace every stored source with text that does not parse: if the loader
    // read or parsed a source, the module would fail.
    db.write(|c| {
        Ok(c.execute(
            "UPDATE hbf_fs_content SET data = CAST('this is ( not JS' AS BLOB)",
            [],
        )?)
    })
    .unwrap();
    let (loads, answer) = run_module(&db, "hbf/server.js");
    assert_eq!(answer, 42);
    assert_eq!(
        loads,
        vec![
            ("hbf/lib/value.js".to_owned(), LoadedFrom::Bytecode),
            ("hbf/server.js".to_owned(), LoadedFrom::Bytecode),
        ]
    );
}

#[test]
fn a_source_edited_after_packing_falls_back_to_parsing() {
    let pod = tiny_pod();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fs.db");
    pack(pod.path(), &out, &PackOptions::default()).unwrap();
    let db = open_as_template(&out);
    db.fs()
        .write("hbf/lib/value.js", "export const value = 7 * 6 + 1;\n")
        .unwrap();
    let modules = PodCode::new(db.clone()).with_log();
    let (loads, answer) = run_with(&modules, "hbf/server.js");
    assert_eq!(answer, 43, "the edited source ran, not the stale bytecode");
    assert_eq!(
        loads,
        vec![
            ("hbf/lib/value.js".to_owned(), LoadedFrom::Source),
            ("hbf/server.js".to_owned(), LoadedFrom::Bytecode),
        ]
    );
    // The edited module was parsed once; the next load uses its bytecode.
    let (loads, answer) = run_with(&modules, "hbf/server.js");
    assert_eq!(answer, 43);
    assert!(
        loads.iter().all(|(_, from)| *from == LoadedFrom::Bytecode),
        "{loads:?}"
    );
}

#[test]
fn every_shipped_pod_packs() {
    for pod in ["base", "test"] {
        let dir = tempfile::tempdir().unwrap();
        let report = pack(
            &repo().join("pods").join(pod),
            &dir.path().join("fs.db"),
            &PackOptions::default(),
        )
        .unwrap();
        assert!(report.modules >= 5, "{report}");
    }
}

#[test]
fn the_cli_prints_one_line_and_fails_with_a_clear_message() {
    // Absolute: Bazel's rust_test gives a path relative to the runfiles.
    let bin = &std::path::absolute(env!("CARGO_BIN_EXE_hbf-pack")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fs.db");
    let ok = Command::new(bin)
        .arg(repo().join("pods/base"))
        .arg("-o")
        .arg(&out)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let stdout = String::from_utf8(ok.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains("files") && stdout.contains("bytes") && stdout.contains("fs.db"),
        "{stdout}"
    );
    let db = Database::open(&out).unwrap();
    assert_eq!(
        db.fs().stat("hbf/server.js").unwrap().mtime_ms,
        1_700_000_000_000
    );

    let bad = Command::new(bin)
        .arg(dir.path().join("no-such-pod"))
        .arg("-o")
        .arg(dir.path().join("x.db"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no-such-pod"));
    let env_bad = Command::new(bin)
        .arg(repo().join("pods/base"))
        .env("SOURCE_DATE_EPOCH", "yesterday")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(env_bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&env_bad.stderr).contains("SOURCE_DATE_EPOCH"));
}

#[test]
fn an_overlay_pod_has_its_base_files_unless_it_has_its_own() {
    let base = tiny_pod();
    std::fs::write(base.path().join("static/b.txt"), "from the base").unwrap();
    let overlay = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(overlay.path().join("static")).unwrap();
    std::fs::write(overlay.path().join("static/b.txt"), "from the overlay").unwrap();
    std::fs::write(overlay.path().join("static/c.txt"), "only here").unwrap();
    std::fs::write(
        overlay.path().join(hbf_pack::BASE_FILE),
        format!("{}\n", base.path().display()),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fs.db");
    let report = pack(overlay.path(), &out, &PackOptions::default()).unwrap();
    let db = Database::open(&out).unwrap();
    let fs = db.fs();
    assert_eq!(fs.read("static/a.txt").unwrap(), b"hello");
    assert_eq!(fs.read("static/b.txt").unwrap(), b"from the overlay");
    assert_eq!(fs.read("static/c.txt").unwrap(), b"only here");
    assert!(fs.read("hbf/server.js").is_ok());
    assert_eq!(report.files, 5);

    // A base that names the overlay back is refused, not walked forever.
    std::fs::write(
        base.path().join(hbf_pack::BASE_FILE),
        overlay.path().display().to_string(),
    )
    .unwrap();
    let err = pack(overlay.path(), &out, &PackOptions::default()).unwrap_err();
    assert!(matches!(err, PackError::BaseTooDeep { .. }), "{err}");
}
