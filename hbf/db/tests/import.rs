//! Importing SQLite Archives into the versioned filesystem.

use hbf_db::{Archive, ArchiveEntry, Database, Error};

fn pod_v1() -> Vec<ArchiveEntry> {
    vec![
        ArchiveEntry::directory("hbf", 100),
        ArchiveEntry::file("hbf/server.js", 100, "v1 server"),
        ArchiveEntry::file("static/style.css", 100, "v1 css"),
        ArchiveEntry::file("static/logo.txt", 100, "logo"),
    ]
}

fn pod_v2() -> Vec<ArchiveEntry> {
    vec![
        ArchiveEntry::file("hbf/server.js", 200, "v2 server"),
        ArchiveEntry::file("static/style.css", 200, "v2 css"),
        ArchiveEntry::file("static/logo.txt", 200, "logo"),
        ArchiveEntry::file("static/new.txt", 200, "new"),
    ]
}

#[test]
fn first_import_writes_every_file_with_the_archive_mtime() {
    let db = Database::memory().unwrap();
    let report = db.fs().import_archive(pod_v1()).unwrap();
    assert!(!report.already_imported);
    assert_eq!(
        report.written,
        ["hbf/server.js", "static/logo.txt", "static/style.css"]
    );
    assert_eq!(db.fs().read("hbf/server.js").unwrap(), b"v1 server");
    assert_eq!(db.fs().stat("static/style.css").unwrap().mtime_ms, 100_000);
}

#[test]
fn importing_the_same_archive_twice_changes_nothing() {
    let db = Database::memory().unwrap();
    let first = db.fs().import_archive(pod_v1()).unwrap();
    let mut shuffled = pod_v1();
    shuffled.reverse();
    let second = db.fs().import_archive(shuffled).unwrap();
    assert!(second.already_imported);
    assert_eq!(first.archive_sha256, second.archive_sha256);
    assert_eq!(db.fs().version_count("hbf/server.js").unwrap(), 1);
}

#[test]
fn a_newer_archive_updates_untouched_files_and_skips_live_edits() {
    let db = Database::memory().unwrap();
    let fs = db.fs();
    fs.import_archive(pod_v1()).unwrap();
    fs.write("static/style.css", "my live edit").unwrap();
    let report = fs.import_archive(pod_v2()).unwrap();
    assert_eq!(report.written, ["hbf/server.js", "static/new.txt"]);
    assert_eq!(report.unchanged, ["static/logo.txt"]);
    assert_eq!(report.skipped, ["static/style.css"]);
    assert_eq!(fs.read("static/style.css").unwrap(), b"my live edit");
    assert_eq!(fs.read("hbf/server.js").unwrap(), b"v2 server");
    assert_eq!(fs.version_count("static/logo.txt").unwrap(), 1);
    // A third archive: server.js is still as the last import left it.
    let v3 = vec![ArchiveEntry::file("hbf/server.js", 300, "v3 server")];
    assert_eq!(fs.import_archive(v3).unwrap().written, ["hbf/server.js"]);
}

#[test]
fn a_user_deletion_is_a_live_edit_too() {
    let db = Database::memory().unwrap();
    let fs = db.fs();
    fs.import_archive(pod_v1()).unwrap();
    fs.delete("static/logo.txt").unwrap();
    let mut v2 = pod_v2();
    v2[2] = ArchiveEntry::file("static/logo.txt", 200, "logo v2");
    let report = fs.import_archive(v2).unwrap();
    assert!(report.skipped.contains(&"static/logo.txt".to_string()));
    assert!(!fs.exists("static/logo.txt").unwrap());
}

#[test]
fn a_file_the_user_created_before_any_import_is_not_overwritten() {
    let db = Database::memory().unwrap();
    db.fs().write("hbf/server.js", "mine").unwrap();
    let report = db.fs().import_archive(pod_v1()).unwrap();
    assert_eq!(report.skipped, ["hbf/server.js"]);
    assert_eq!(db.fs().read("hbf/server.js").unwrap(), b"mine");
}

#[test]
fn bad_entries_fail_the_whole_import() {
    let db = Database::memory().unwrap();
    let mut entries = pod_v1();
    entries.push(ArchiveEntry::file("../escape", 1, "x"));
    let err = db.fs().import_archive(entries).unwrap_err();
    assert!(
        matches!(err, Error::BadArchiveEntry { ref name, .. } if name == "../escape"),
        "{err}"
    );
    assert!(
        !db.fs().exists("hbf/server.js").unwrap(),
        "nothing imported"
    );
    let link = ArchiveEntry {
        name: "static/link".into(),
        mode: 0o120777,
        mtime: 1,
        data: b"/etc/passwd".to_vec(),
    };
    let err = db.fs().import_archive(vec![link]).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
}

#[test]
fn two_entries_naming_one_path_fail_the_import() {
    // Found by the sqlar_import fuzz target (fuzz/regressions/sqlar_import/):
    // `static/a.css` and `./static/a.css` normalize to one path, and the import
    // kept one of them without a word.
    let db = Database::memory().unwrap();
    let entries = vec![
        ArchiveEntry::file("static/a.css", 1, "one"),
        ArchiveEntry::file("./static/a.css", 1, "two"),
        ArchiveEntry::file("hbf/server.js", 1, "server"),
    ];
    let err = db.fs().import_archive(entries).unwrap_err();
    assert!(
        matches!(err, Error::BadArchiveEntry { ref name, ref reason }
            if name == "static/a.css" && reason.contains("also names static/a.css")),
        "{err}"
    );
    assert!(db.fs().list("").unwrap().is_empty(), "nothing imported");
    // A directory and a file of the same name are no conflict (directories are
    // not imported).
    let entries = vec![
        ArchiveEntry::directory("static", 1),
        ArchiveEntry::file("./static", 1, "a file named static"),
    ];
    db.fs().import_archive(entries).unwrap();
    assert_eq!(db.fs().read("static").unwrap(), b"a file named static");
}

#[test]
fn the_database_archive_round_trips_and_imports() {
    let db = Database::memory().unwrap();
    assert!(db.archive_entries().unwrap().is_empty());
    let mut entries = pod_v1();
    entries.push(ArchiveEntry::file(
        "static/big.txt",
        5,
        "compressible ".repeat(500),
    ));
    db.write_archive(entries.clone()).unwrap();
    let mut back = db.archive_entries().unwrap();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    back.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(back, entries);
    let stored: i64 = db
        .read(|c| {
            Ok(c.query_row(
                "SELECT length(data) FROM sqlar WHERE name = 'static/big.txt'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert!(stored < 6500 / 4, "stored compressed: {stored} bytes");
    db.fs().import_archive(back).unwrap();
    assert_eq!(
        db.fs().read("static/big.txt").unwrap(),
        "compressible ".repeat(500).as_bytes()
    );
}

#[test]
fn standalone_archive_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.sqlar");
    let mut archive = Archive::open(&path).unwrap();
    archive.put_all(&pod_v1()).unwrap();
    assert_eq!(
        archive.get("hbf/server.js").unwrap().unwrap().data,
        b"v1 server"
    );
    assert!(archive.get("missing").unwrap().is_none());
    drop(archive);
    let bytes = std::fs::read(&path).unwrap();
    let from_bytes = Archive::from_bytes(&bytes).unwrap();
    assert_eq!(from_bytes.entries().unwrap().len(), 4);
    let ro = Archive::open_read_only(&path).unwrap();
    assert_eq!(ro.entries().unwrap(), from_bytes.entries().unwrap());
}
