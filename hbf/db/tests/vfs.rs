//! Every operation of the versioned filesystem, through the public API.

use hbf_db::{Database, Error, PathError};

fn fs() -> (Database, hbf_db::VersionedFs) {
    let db = Database::memory().unwrap();
    let fs = db.fs();
    (db, fs)
}

fn content_rows(db: &Database) -> i64 {
    db.read(|c| Ok(c.query_row("SELECT count(*) FROM hbf_fs_content", [], |r| r.get(0))?))
        .unwrap()
}

#[test]
fn write_then_read_latest_and_each_version() {
    let (_db, fs) = fs();
    let v1 = fs.write("static/a.txt", "one").unwrap();
    let v2 = fs.write("static/a.txt", b"two!".to_vec()).unwrap();
    assert_eq!((v1.version, v1.size, v1.deleted), (1, 3, false));
    assert_eq!((v2.version, v2.size), (2, 4));
    assert_eq!(v2.sha256_hex().unwrap(), sha256_hex(b"two!"));
    assert_eq!(fs.read("static/a.txt").unwrap(), b"two!");
    let (meta, data) = fs.read_with_meta("static/a.txt").unwrap();
    assert_eq!(meta, v2);
    assert_eq!(data, b"two!");
    let (m1, d1) = fs.read_version("static/a.txt", 1).unwrap();
    assert_eq!((m1.version, d1.as_slice()), (1, &b"one"[..]));
    assert!(fs.exists("static/a.txt").unwrap());
    assert_eq!(fs.version_count("static/a.txt").unwrap(), 2);
    assert_eq!(fs.stat("static/a.txt").unwrap(), v2);
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

#[test]
fn empty_and_binary_content_round_trip() {
    let (_db, fs) = fs();
    fs.write("empty", Vec::new()).unwrap();
    assert_eq!(fs.read("empty").unwrap(), b"");
    let all: Vec<u8> = (0..=255u8).collect();
    fs.write("bin", all.clone()).unwrap();
    assert_eq!(fs.read("bin").unwrap(), all);
}

#[test]
fn missing_paths_and_versions_are_not_found() {
    let (_db, fs) = fs();
    assert!(matches!(fs.read("nope"), Err(Error::NotFound { .. })));
    assert!(matches!(fs.stat("nope"), Err(Error::NotFound { .. })));
    assert!(matches!(fs.history("nope"), Err(Error::NotFound { .. })));
    assert!(matches!(fs.delete("nope"), Err(Error::NotFound { .. })));
    assert!(matches!(fs.revert("nope", 1), Err(Error::NotFound { .. })));
    assert!(!fs.exists("nope").unwrap());
    assert_eq!(fs.version_count("nope").unwrap(), 0);
    fs.write("a", "x").unwrap();
    let err = fs.read_version("a", 7).unwrap_err();
    assert!(
        matches!(
            err,
            Error::VersionNotFound {
                version: 7,
                latest: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.is_not_found());
    assert!(matches!(
        fs.read_version("a", 0),
        Err(Error::VersionNotFound { .. })
    ));
    assert!(matches!(
        fs.revert("a", 2),
        Err(Error::VersionNotFound { .. })
    ));
}

#[test]
fn invalid_paths_are_refused_by_every_operation() {
    let (_db, fs) = fs();
    let long = "a".repeat(1025);
    let cases: [(&str, PathError); 6] = [
        ("../x", PathError::ParentSegment),
        ("/abs", PathError::Absolute),
        ("a//b", PathError::EmptySegment),
        ("a\0b", PathError::ControlCharacter),
        (&long, PathError::TooLong { len: 1025 }),
        ("", PathError::Empty),
    ];
    for (path, expected) in cases {
        let check = |result: Result<(), Error>| match result {
            Err(Error::InvalidPath { problem, .. }) => assert_eq!(problem, expected, "{path:?}"),
            other => panic!("{path:?}: expected InvalidPath, got {other:?}"),
        };
        check(fs.write(path, "x").map(drop));
        check(fs.read(path).map(drop));
        check(fs.read_version(path, 1).map(drop));
        check(fs.exists(path).map(drop));
        check(fs.version_count(path).map(drop));
        check(fs.history(path).map(drop));
        check(fs.delete(path).map(drop));
        check(fs.revert(path, 1).map(drop));
    }
    assert!(fs.list("").unwrap().is_empty(), "nothing was written");
    // The error message names the path and says what to do.
    let msg = fs.write("/etc/passwd", "x").unwrap_err().to_string();
    assert!(
        msg.contains("/etc/passwd") && msg.contains("relative"),
        "{msg}"
    );
}

#[test]
fn dot_segments_are_normalized_to_one_path() {
    let (_db, fs) = fs();
    fs.write("./static/./x.css", "a").unwrap();
    assert_eq!(fs.read("static/x.css").unwrap(), b"a");
    assert_eq!(fs.version_count("static/./x.css").unwrap(), 1);
}

#[test]
fn delete_writes_a_tombstone_and_a_later_write_continues() {
    let (_db, fs) = fs();
    fs.write("f", "one").unwrap();
    let tomb = fs.delete("f").unwrap();
    assert_eq!(
        (tomb.version, tomb.deleted, tomb.size, tomb.sha256),
        (2, true, 0, None)
    );
    assert!(!fs.exists("f").unwrap());
    assert!(matches!(fs.read("f"), Err(Error::NotFound { .. })));
    assert!(matches!(
        fs.read_version("f", 2),
        Err(Error::NotFound { .. })
    ));
    assert!(
        matches!(fs.delete("f"), Err(Error::NotFound { .. })),
        "no double delete"
    );
    assert!(fs.list("").unwrap().is_empty());
    let again = fs.write("f", "three").unwrap();
    assert_eq!(again.version, 3);
    assert_eq!(fs.read("f").unwrap(), b"three");
    let history = fs.history("f").unwrap();
    assert_eq!(
        history
            .iter()
            .map(|v| (v.version, v.deleted))
            .collect::<Vec<_>>(),
        vec![(1, false), (2, true), (3, false)]
    );
    assert_eq!(fs.read_version("f", 1).unwrap().1, b"one");
}

#[test]
fn revert_appends_the_old_state() {
    let (db, fs) = fs();
    fs.write("f", "one").unwrap();
    fs.write("f", "two").unwrap();
    let r = fs.revert("f", 1).unwrap();
    assert_eq!(r.version, 3);
    assert_eq!(fs.read("f").unwrap(), b"one");
    assert_eq!(r.sha256, fs.read_version("f", 1).unwrap().0.sha256);
    assert_eq!(content_rows(&db), 2, "revert reuses stored content");
    fs.delete("f").unwrap();
    let back = fs.revert("f", 2).unwrap();
    assert_eq!((back.version, back.deleted), (5, false));
    assert_eq!(fs.read("f").unwrap(), b"two");
    let to_tomb = fs.revert("f", 4).unwrap();
    assert!(to_tomb.deleted);
    assert!(!fs.exists("f").unwrap());
}

#[test]
fn identical_content_is_stored_once() {
    let (db, fs) = fs();
    let a = fs.write("a.txt", "same bytes").unwrap();
    let b = fs.write("dir/b.txt", "same bytes").unwrap();
    fs.write("a.txt", "same bytes").unwrap();
    assert_eq!(a.sha256, b.sha256);
    assert_eq!(content_rows(&db), 1);
    fs.write("c", "other").unwrap();
    assert_eq!(content_rows(&db), 2);
}

#[test]
fn list_reads_metadata_by_prefix_in_path_order() {
    let (_db, fs) = fs();
    for p in [
        "static/b.css",
        "hbf/server.js",
        "static/a.css",
        "static2/x",
        "hbf/lib/x.js",
    ] {
        fs.write(p, p).unwrap();
    }
    fs.write("static/gone", "x").unwrap();
    fs.delete("static/gone").unwrap();
    let names = |prefix: &str| -> Vec<String> {
        fs.list(prefix)
            .unwrap()
            .into_iter()
            .map(|v| v.path)
            .collect()
    };
    assert_eq!(names("static/"), ["static/a.css", "static/b.css"]);
    assert_eq!(names("hbf/"), ["hbf/lib/x.js", "hbf/server.js"]);
    assert_eq!(names("static").len(), 3);
    assert_eq!(names("").len(), 5);
    assert!(names("zzz").is_empty());
    let meta = &fs.list("hbf/server.js").unwrap()[0];
    assert_eq!((meta.version, meta.size), (1, "hbf/server.js".len() as u64));
}

#[test]
fn write_many_is_all_or_nothing() {
    let (_db, fs) = fs();
    let written = fs
        .write_many(vec![
            ("a".into(), b"1".to_vec()),
            ("b".into(), b"2".to_vec()),
        ])
        .unwrap();
    assert_eq!(written.len(), 2);
    let err = fs
        .write_many(vec![
            ("c".into(), b"3".to_vec()),
            ("../d".into(), b"4".to_vec()),
        ])
        .unwrap_err();
    assert!(err.is_invalid_path());
    assert!(!fs.exists("c").unwrap());
}

#[test]
fn explicit_mtime_is_kept() {
    let (_db, fs) = fs();
    let v = fs.write_at("f", "x", 1234).unwrap();
    assert_eq!(v.mtime_ms, 1234);
    assert_eq!(fs.stat("f").unwrap().mtime_ms, 1234);
}

#[test]
fn platform_tables_are_not_writable_through_readers() {
    let (db, _fs) = fs();
    let err = db
        .read(|c| Ok(c.execute("DELETE FROM hbf_fs_version", [])?))
        .unwrap_err();
    assert!(
        err.to_string().contains("readonly")
            || err.to_string().contains("read-only")
            || err.to_string().contains("query_only")
            || err.to_string().contains("attempt to write"),
        "{err}"
    );
}

/// Bytes that differ at every offset a test might confuse (not a repeating
/// pattern of a power-of-two period).
fn patterned(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

fn read_in_chunks(reader: &hbf_db::FileReader, chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let piece = reader.read_at(out.len() as u64, chunk).unwrap();
        assert!(piece.len() <= chunk);
        if piece.is_empty() {
            return out;
        }
        out.extend_from_slice(&piece);
    }
}

#[test]
fn an_opened_file_reads_whole_and_in_chunks() {
    let (_db, fs) = fs();
    let data = patterned(3 * 65_536 + 123, 1);
    let written = fs.write("static/big.bin", data.clone()).unwrap();
    let reader = fs.open("static/big.bin").unwrap();
    assert_eq!(reader.meta(), &written);
    assert_eq!(reader.len(), data.len() as u64);
    assert_eq!(reader.read_all().unwrap(), data);
    for chunk in [1, 7_000, 65_536, 1 << 20] {
        assert_eq!(read_in_chunks(&reader, chunk), data, "chunk {chunk}");
    }
    let empty = fs.write("static/empty", Vec::new()).unwrap();
    let reader = fs.open("static/empty").unwrap();
    assert_eq!((reader.meta(), reader.is_empty()), (&empty, true));
    assert_eq!(reader.read_all().unwrap(), b"");
    assert_eq!(reader.read_at(0, 10).unwrap(), b"");
}

#[test]
fn reads_at_an_offset_return_exactly_that_range() {
    let (_db, fs) = fs();
    let data = patterned(1_000_003, 2);
    fs.write("a", data.clone()).unwrap();
    let reader = fs.open("a").unwrap();
    let len = data.len() as u64;
    for (offset, max) in [
        (0u64, 1usize),
        (1, 10),
        (4095, 2),
        (500_000, 262_144),
        (len - 1, 100),
        (len - 10, 10),
    ] {
        let start = offset as usize;
        let end = (start + max).min(data.len());
        assert_eq!(
            reader.read_at(offset, max).unwrap(),
            &data[start..end],
            "{offset}+{max}"
        );
    }
    assert!(reader.read_at(len, 10).unwrap().is_empty());
    assert!(reader.read_at(len + 5, 10).unwrap().is_empty());
    assert!(reader.read_at(u64::MAX, 10).unwrap().is_empty());
    assert!(reader.read_at(10, 0).unwrap().is_empty());
}

#[test]
fn a_file_read_in_chunks_keeps_its_version_while_the_path_changes() {
    let (_db, fs) = fs();
    let old = patterned(300_000, 3);
    let new = patterned(300_000, 4);
    assert_ne!(old, new);
    fs.write("static/app.js", old.clone()).unwrap();
    let reader = fs.open("static/app.js").unwrap();
    let mut served = reader.read_at(0, 100_000).unwrap();
    // A new version (same size, other bytes) lands mid-read, then a deletion
    // and yet another version: the rest still comes from the version opened.
    fs.write("static/app.js", new.clone()).unwrap();
    served.extend(reader.read_at(served.len() as u64, 100_000).unwrap());
    fs.delete("static/app.js").unwrap();
    fs.write("static/app.js", patterned(10, 5)).unwrap();
    served.extend(read_in_chunks(&reader, 100_000).split_off(served.len()));
    assert_eq!(served, old);
    assert_eq!(reader.read_all().unwrap(), old);
    // A reader opened now sees the latest version.
    assert_eq!(
        fs.open("static/app.js").unwrap().read_all().unwrap(),
        patterned(10, 5)
    );
}

#[test]
fn missing_and_deleted_files_do_not_open() {
    let (_db, fs) = fs();
    assert!(matches!(fs.open("nope"), Err(Error::NotFound { .. })));
    fs.write("gone", "x").unwrap();
    fs.delete("gone").unwrap();
    assert!(matches!(fs.open("gone"), Err(Error::NotFound { .. })));
    assert!(matches!(
        fs.open("../etc/passwd"),
        Err(Error::InvalidPath { .. })
    ));
}
