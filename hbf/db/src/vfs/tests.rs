use super::fs::{READ_LATEST, READ_VERSION};
use super::*;
use crate::{Database, Error, Result};
use rusqlite::StatementStatus;

#[test]
fn preconditions_are_checked_in_the_writing_transaction() {
    let db = Database::memory().unwrap();
    let fs = db.fs();
    let stale = |r: Result<FileVersion>| match r {
        Err(Error::PreconditionFailed { current, .. }) => current,
        other => panic!("expected a failed precondition, got {other:?}"),
    };
    assert_eq!(stale(fs.write_if("a", "x", Precondition::Version(1))), None);
    assert_eq!(
        fs.write_if("a", "1", Precondition::Absent).unwrap().version,
        1
    );
    assert_eq!(stale(fs.write_if("a", "x", Precondition::Absent)), Some(1));
    assert_eq!(
        stale(fs.write_if("a", "x", Precondition::Version(2))),
        Some(1)
    );
    assert_eq!(
        fs.write_if("a", "2", Precondition::Version(1))
            .unwrap()
            .version,
        2
    );
    assert_eq!(stale(fs.delete_if("a", Precondition::Version(1))), Some(2));
    assert_eq!(
        stale(fs.revert_if("a", 1, Precondition::Version(1))),
        Some(2)
    );
    assert_eq!(
        fs.revert_if("a", 1, Precondition::Version(2))
            .unwrap()
            .version,
        3
    );
    assert_eq!(
        fs.delete_if("a", Precondition::Version(3)).unwrap().version,
        4
    );
    assert_eq!(
        fs.write_if("a", "new", Precondition::Absent)
            .unwrap()
            .version,
        5
    );
    assert_eq!(fs.read("a").unwrap(), b"new");
    assert_eq!(fs.history("a").unwrap().len(), 5);

    // Racing writers with the same expectation: exactly one wins.
    let winners: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let fs = fs.clone();
                s.spawn(move || {
                    fs.write_if("a", format!("{i}"), Precondition::Version(5))
                        .is_ok()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap() as usize)
            .sum()
    });
    assert_eq!(winners, 1);
    assert_eq!(fs.stat("a").unwrap().version, 6);
}

#[test]
fn each_write_of_a_batch_stands_alone() {
    let db = Database::memory().unwrap();
    let fs = db.fs();
    fs.write("b", "b1").unwrap();
    let outcomes = fs
        .write_each_if(vec![
            ("a".into(), b"a1".to_vec(), Precondition::Absent),
            ("b".into(), b"stale".to_vec(), Precondition::Version(7)),
            ("../x".into(), b"x".to_vec(), Precondition::None),
            ("a".into(), b"a2".to_vec(), Precondition::Version(1)),
            ("a".into(), b"lost".to_vec(), Precondition::Version(1)),
            ("b".into(), b"b2".to_vec(), Precondition::None),
        ])
        .unwrap();
    let summary: Vec<std::result::Result<u64, String>> = outcomes
        .into_iter()
        .map(|o| o.map(|v| v.version).map_err(|e| format!("{e:?}")))
        .collect();
    assert_eq!(summary[0], Ok(1));
    assert!(summary[1]
        .as_ref()
        .unwrap_err()
        .contains("PreconditionFailed"));
    assert!(summary[2].as_ref().unwrap_err().contains("InvalidPath"));
    assert_eq!(summary[3], Ok(2));
    assert!(summary[4]
        .as_ref()
        .unwrap_err()
        .contains("PreconditionFailed"));
    assert_eq!(summary[5], Ok(2));
    assert_eq!(fs.read("a").unwrap(), b"a2");
    assert_eq!(fs.read("b").unwrap(), b"b2");
    assert_eq!(fs.history("a").unwrap().len(), 2);
}

#[test]
fn listings_can_include_deleted_paths() {
    let db = Database::memory().unwrap();
    let fs = db.fs();
    fs.write("d/a", "a").unwrap();
    fs.write("d/b", "b").unwrap();
    fs.delete("d/b").unwrap();
    let names = |v: Vec<FileVersion>| {
        v.into_iter()
            .map(|f| (f.path, f.deleted))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(fs.list("d/").unwrap()), [("d/a".to_owned(), false)]);
    assert_eq!(
        names(fs.list_with_deleted("d/", true).unwrap()),
        [("d/a".to_owned(), false), ("d/b".to_owned(), true)]
    );
}

#[test]
fn writes_by_a_named_source_are_announced_after_commit() {
    let db = Database::memory().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    assert!(db.on_file_change(Box::new(move |v, source| {
        tx.lock()
            .unwrap()
            .send((v.path.clone(), v.version, v.deleted, source))
            .unwrap();
    })));
    db.fs().write("quiet", "x").unwrap();
    let api = db.fs_by("api");
    api.write("p", "1").unwrap();
    api.delete("p").unwrap();
    assert!(api.write_if("p", "2", Precondition::Version(1)).is_err());
    let got: Vec<_> = rx.try_iter().collect();
    assert_eq!(
        got,
        [
            ("p".to_owned(), 1, false, "api"),
            ("p".to_owned(), 2, true, "api")
        ]
    );
    assert!(db.written_here("p", 2));
    assert!(!db.written_here("p", 3));
    assert!(!db.written_here("quiet", 1));
}

#[test]
fn reads_are_not_re_prepared() {
    let db = Database::memory().unwrap();
    let fs = db.fs();
    for i in 0..5 {
        fs.write(&format!("p{i}"), format!("{i}")).unwrap();
    }
    for _ in 0..3 {
        for i in 0..5 {
            fs.read(&format!("p{i}")).unwrap();
            fs.read_version(&format!("p{i}"), 1).unwrap();
        }
    }
    db.read(|conn| {
        for sql in [READ_LATEST, READ_VERSION] {
            let stmt = conn.prepare_cached(sql)?;
            assert_eq!(stmt.get_status(StatementStatus::Run), 15, "{sql}");
            assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0, "{sql}");
        }
        Ok(())
    })
    .unwrap();
}
