//! `sqlar_import`: arbitrary rows in a `sqlar` table, read and imported.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use arbitrary::{Arbitrary, Unstructured};
use hbf_db::rusqlite::types::Value;
use hbf_db::{Database, Error};

use crate::vfs::model_normalize;

/// Names the fuzzer picks by index: valid, aliases of each other, invalid.
const NAMES: &[&str] = &[
    "hbf/server.js",
    "static/a.css",
    "./static/a.css",
    "static/./a.css",
    "static",
    "static/",
    "../x",
    "/abs",
    "a//b",
    "a\\b",
    "",
    ".",
    "a\u{1}b",
    "dir/文件.txt",
];

#[derive(Debug, Arbitrary)]
enum Name {
    Known(u8),
    Raw(String),
    /// A BLOB or NULL where the CLI stores text.
    Blob(Vec<u8>),
    Null,
}

#[derive(Debug, Arbitrary)]
enum Mode {
    File,
    Directory,
    Symlink,
    /// Permission bits only, no file type (counts as a file).
    Bare(u16),
    Any(i64),
    Text(String),
}

/// How a row stores its content.
#[derive(Debug, Arbitrary)]
enum Storage {
    /// `data` as is, `sz` its length.
    Raw,
    /// zlib-compressed (at a level), `sz` the original length.
    Compressed(u8),
    /// Compressed, then cut short.
    Truncated(u8),
    /// Compressed, then one byte flipped.
    Flipped(u16, u8),
    /// `data` as is, with a size that may lie.
    Sized(i64),
    /// Compressed, with a size that may lie.
    CompressedSized(i64),
    /// No data (NULL), `sz` as given.
    Null(i64),
    /// The data as TEXT rather than BLOB.
    Text,
}

#[derive(Debug, Arbitrary)]
struct Row {
    name: Name,
    mode: Mode,
    mtime: i64,
    data: Vec<u8>,
    storage: Storage,
}

#[derive(Debug, Arbitrary)]
struct ImportInput {
    /// Files written before the import (by index into NAMES, with content):
    /// an import never overwrites them.
    before: Vec<(u8, Vec<u8>)>,
    rows: Vec<Row>,
}

fn zlib(data: &[u8], level: u8) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(
        Vec::new(),
        flate2::Compression::new(u32::from(level % 10)),
    );
    e.write_all(data).expect("to a Vec");
    e.finish().expect("to a Vec")
}

/// The row as stored: (name, mode, mtime, sz, data).
fn to_sql(row: &Row) -> [Value; 5] {
    let name = match &row.name {
        Name::Known(i) => Value::Text(NAMES[*i as usize % NAMES.len()].to_owned()),
        Name::Raw(s) => Value::Text(s.clone()),
        Name::Blob(b) => Value::Blob(b.clone()),
        Name::Null => Value::Null,
    };
    let mode = match &row.mode {
        Mode::File => Value::Integer(0o100644),
        Mode::Directory => Value::Integer(0o040755),
        Mode::Symlink => Value::Integer(0o120777),
        Mode::Bare(bits) => Value::Integer(i64::from(*bits & 0o7777)),
        Mode::Any(n) => Value::Integer(*n),
        Mode::Text(s) => Value::Text(s.clone()),
    };
    let len = row.data.len() as i64;
    let (sz, data) = match &row.storage {
        Storage::Raw => (len, Value::Blob(row.data.clone())),
        Storage::Compressed(level) => (len, Value::Blob(zlib(&row.data, *level))),
        Storage::Truncated(cut) => {
            let mut z = zlib(&row.data, 6);
            let keep = z.len().saturating_sub(1 + *cut as usize % z.len().max(1));
            z.truncate(keep);
            (len, Value::Blob(z))
        }
        Storage::Flipped(at, bits) => {
            let mut z = zlib(&row.data, 6);
            let i = *at as usize % z.len();
            z[i] ^= bits | 1;
            (len, Value::Blob(z))
        }
        Storage::Sized(sz) => (*sz, Value::Blob(row.data.clone())),
        Storage::CompressedSized(sz) => (*sz, Value::Blob(zlib(&row.data, 6))),
        Storage::Null(sz) => (*sz, Value::Null),
        Storage::Text => (
            len,
            Value::Text(String::from_utf8_lossy(&row.data).into_owned()),
        ),
    };
    [
        name,
        mode,
        Value::Integer(row.mtime),
        Value::Integer(sz),
        data,
    ]
}

/// What a correct reader makes of a stored row: the entry's (name, kind, mtime,
/// content), or `None` if the row is not a valid archive entry. Written from the
/// format's definition (see `hbf/db/src/archive.rs`), independently of it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    File,
    Directory,
    Symlink,
}

fn model_decode(row: &[Value; 5]) -> Option<(String, Kind, i64, Vec<u8>)> {
    let Value::Text(name) = &row[0] else {
        return None;
    };
    let Value::Integer(mode) = row[1] else {
        return None;
    };
    let mode = u32::try_from(mode).ok()?;
    let Value::Integer(mtime) = row[2] else {
        return None;
    };
    let Value::Integer(sz) = row[3] else {
        return None;
    };
    // Data is a BLOB or NULL; TEXT is refused (the reader asks for bytes).
    let stored: Vec<u8> = match &row[4] {
        Value::Null => Vec::new(),
        Value::Blob(b) => b.clone(),
        _ => return None,
    };
    let kind = match mode & 0o170000 {
        0o040000 => Kind::Directory,
        0o120000 => Kind::Symlink,
        _ => Kind::File,
    };
    let data = match kind {
        Kind::Directory => Vec::new(),
        Kind::Symlink => stored,
        Kind::File => {
            let size = usize::try_from(sz).ok()?;
            if stored.len() == size {
                stored
            } else if stored.len() > size {
                return None;
            } else {
                let mut out = Vec::new();
                flate2::read::ZlibDecoder::new(stored.as_slice())
                    .take(size as u64 + 1)
                    .read_to_end(&mut out)
                    .ok()?;
                if out.len() != size {
                    return None;
                }
                out
            }
        }
    };
    Some((name.clone(), kind, mtime, data))
}

/// `sqlar_import`: writes arbitrary rows (names, modes, sizes, compressed or
/// not, corrupt zlib, wrong column types) into the database's `sqlar` table,
/// reads the archive back and imports it into the versioned filesystem, which
/// already holds a few user files. Reading fails exactly when a model decoder
/// says a row is bad; the import fails exactly when a row is a symlink, a file
/// name is invalid or two files name the same path; otherwise every file is
/// imported with its content and time (or skipped, if the user had written it),
/// nothing else changes, and importing again changes nothing.
pub fn sqlar_import(data: &[u8]) {
    let Ok(input) = Unstructured::new(data).arbitrary::<ImportInput>() else {
        return;
    };
    let db = Database::memory().expect("an in-memory database");
    let fs = db.fs();
    let mut user: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut user_versions: BTreeMap<String, u64> = BTreeMap::new();
    for (i, content) in input.before.iter().take(4) {
        let name = NAMES[*i as usize % NAMES.len()];
        if let Some(path) = model_normalize(name) {
            fs.write(name, content.clone()).expect("a user write");
            *user_versions.entry(path.clone()).or_default() += 1;
            user.insert(path, content.clone());
        }
    }

    // The table keeps one row per name (name is its primary key): later rows
    // replace earlier ones, as `sqlite3 -A` does.
    let mut rows: Vec<[Value; 5]> = Vec::new();
    for row in input.rows.iter().take(32) {
        let row = to_sql(row);
        if let Some(same) = rows
            .iter()
            .position(|r| r[0] == row[0] && r[0] != Value::Null)
        {
            rows.remove(same);
        }
        rows.push(row);
    }
    let stored = rows.clone();
    db.write(move |conn| {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS sqlar(name TEXT PRIMARY KEY, mode INT, mtime INT, sz INT, data BLOB)",
        )?;
        for row in &stored {
            conn.execute(
                "REPLACE INTO sqlar (name, mode, mtime, sz, data) VALUES (?1, ?2, ?3, ?4, ?5)",
                hbf_db::rusqlite::params_from_iter(row.iter()),
            )?;
        }
        Ok(())
    })
    .expect("storing the rows");
    // What the table holds (column affinity may have turned text into numbers).
    let rows: Vec<[Value; 5]> = db
        .read(|conn| {
            let mut stmt = conn.prepare("SELECT name, mode, mtime, sz, data FROM sqlar")?;
            let rows = stmt
                .query_map([], |r| {
                    Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?])
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .expect("reading the rows back");

    let decoded: Option<Vec<_>> = rows.iter().map(model_decode).collect();
    let entries = db.archive_entries();
    let Some(mut decoded) = decoded else {
        match entries {
            Err(Error::BadArchiveEntry { .. } | Error::Sqlite(_)) => return,
            other => panic!("a bad row was read as {other:?}\nrows: {rows:?}"),
        }
    };
    let entries = entries.unwrap_or_else(|e| panic!("reading good rows: {e}\nrows: {rows:?}"));
    decoded.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(entries.len(), decoded.len(), "one entry per row");
    for (entry, (name, kind, mtime, data)) in entries.iter().zip(&decoded) {
        assert_eq!(&entry.name, name, "entries sorted by name");
        assert_eq!(entry.mtime, *mtime, "{name}: mtime");
        assert_eq!(&entry.data, data, "{name}: content");
        let got = match entry.kind() {
            hbf_db::EntryKind::File => Kind::File,
            hbf_db::EntryKind::Directory => Kind::Directory,
            hbf_db::EntryKind::Symlink => Kind::Symlink,
        };
        assert_eq!(&got, kind, "{name}: kind");
    }

    // What the import must do.
    let mut files: BTreeMap<String, (i64, Vec<u8>)> = BTreeMap::new();
    let mut bad = false;
    for (name, kind, mtime, data) in &decoded {
        match kind {
            Kind::Directory => {}
            Kind::Symlink => bad = true,
            Kind::File => match model_normalize(name) {
                None => bad = true,
                Some(path) => {
                    if files.insert(path, (*mtime, data.clone())).is_some() {
                        bad = true; // two rows, one path
                    }
                }
            },
        }
    }
    let before = fs.list("").expect("list");
    let report = fs.import_archive(entries.clone());
    if bad {
        match report {
            Err(Error::BadArchiveEntry { .. }) => {}
            other => panic!("a bad archive was imported: {other:?}\nrows: {rows:?}"),
        }
        assert_eq!(
            fs.list("").expect("list"),
            before,
            "a failed import changed files"
        );
        return;
    }
    let report = report.unwrap_or_else(|e| panic!("import: {e}\nrows: {rows:?}"));
    assert!(!report.already_imported);
    for (path, (mtime, data)) in &files {
        let (meta, content) = fs.read_with_meta(path).expect("an imported path");
        match user.get(path) {
            Some(mine) if mine != data => {
                assert!(report.skipped.contains(path), "{path}: not skipped");
                assert_eq!(&content, mine, "{path}: a user's file was overwritten");
            }
            Some(_) => {
                assert!(report.unchanged.contains(path), "{path}: not unchanged");
                assert_eq!(
                    meta.version, user_versions[path],
                    "{path}: rewritten with the same content"
                );
            }
            None => {
                assert!(report.written.contains(path), "{path}: not written");
                assert_eq!(&content, data, "{path}: imported content");
                assert_eq!(meta.version, 1, "{path}: version");
                assert_eq!(meta.mtime_ms, mtime.saturating_mul(1000), "{path}: mtime");
            }
        }
    }
    assert_eq!(
        report.written.len() + report.unchanged.len() + report.skipped.len(),
        files.len(),
        "every file reported once"
    );
    let listed = crate::live_paths(&fs);
    let mut want: Vec<String> = files.keys().chain(user.keys()).cloned().collect();
    want.sort();
    want.dedup();
    assert_eq!(listed, want, "the files after the import");
    let again = fs.import_archive(entries).expect("importing again");
    assert!(again.already_imported, "a second import is not idempotent");
}
