//! Our SQLite Archives and the real `sqlite3 -A` tool understand each other.
//!
//! Needs the `sqlite3` command-line tool (Debian package `sqlite3`, installed by
//! `.ci/run`); without it these tests fail, they are never skipped.

use std::path::Path;
use std::process::Command;

use hbf_db::{Archive, ArchiveEntry, EntryKind};

fn sqlite3(args: &[&str], dir: &Path) -> String {
    let out = Command::new("sqlite3")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the sqlite3 command-line tool must be installed (apt-get install sqlite3)");
    assert!(
        out.status.success(),
        "sqlite3 {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn sample_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "hbf/server.js",
            b"export default { fetch() {} };\n".to_vec(),
        ),
        (
            "static/style.css",
            "body { color: red; }\n".repeat(200).into_bytes(),
        ),
        ("static/bin.dat", (0..=255u8).cycle().take(3000).collect()),
        ("static/empty.txt", Vec::new()),
        ("static/tiny", b"x".to_vec()),
    ]
}

#[test]
fn sqlite3_lists_and_extracts_what_we_write() {
    let dir = tempfile::tempdir().unwrap();
    let archive_path = dir.path().join("ours.sqlar");
    let mut archive = Archive::open(&archive_path).unwrap();
    let mut entries = vec![ArchiveEntry::directory("static", 1_700_000_000)];
    for (name, data) in sample_files() {
        entries.push(ArchiveEntry::file(name, 1_700_000_000, data));
    }
    archive.put_all(&entries).unwrap();
    drop(archive);

    let listed = sqlite3(&["ours.sqlar", "-A", "-t"], dir.path());
    let mut names: Vec<&str> = listed.lines().collect();
    names.sort_unstable();
    let mut expected: Vec<&str> = sample_files().iter().map(|(n, _)| *n).collect();
    expected.push("static");
    expected.sort_unstable();
    assert_eq!(names, expected);

    std::fs::create_dir(dir.path().join("out")).unwrap();
    sqlite3(&["ours.sqlar", "-A", "-x", "-C", "out"], dir.path());
    for (name, data) in sample_files() {
        let extracted = std::fs::read(dir.path().join("out").join(name)).unwrap();
        assert_eq!(extracted, data, "{name} differs after sqlite3 -x");
    }
}

#[test]
fn we_read_what_sqlite3_writes() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    for (name, data) in sample_files() {
        let path = src.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
    sqlite3(
        &["theirs.sqlar", "-A", "-c", "-C", "src", "hbf", "static"],
        dir.path(),
    );

    let archive = Archive::open_read_only(dir.path().join("theirs.sqlar")).unwrap();
    let entries = archive.entries().unwrap();
    let files: Vec<&ArchiveEntry> = entries
        .iter()
        .filter(|e| e.kind() == EntryKind::File)
        .collect();
    assert_eq!(files.len(), sample_files().len());
    for (name, data) in sample_files() {
        let entry = files.iter().find(|e| e.name == name).unwrap();
        assert_eq!(entry.data, data, "{name}");
        assert!(entry.mtime > 0);
    }
    assert!(entries
        .iter()
        .any(|e| e.name == "static" && e.kind() == EntryKind::Directory));
    // sqlite3 compressed the repetitive CSS: we really inflated it.
    let stored = sqlite3(
        &[
            "theirs.sqlar",
            "SELECT length(data) < sz FROM sqlar WHERE name = 'static/style.css'",
        ],
        dir.path(),
    );
    assert_eq!(stored.trim(), "1");

    // And it imports into the versioned filesystem.
    let db = hbf_db::Database::memory().unwrap();
    let report = db.fs().import_archive(entries).unwrap();
    assert_eq!(report.written.len(), sample_files().len());
    assert_eq!(db.fs().read("static/bin.dat").unwrap(), sample_files()[2].1);
}
