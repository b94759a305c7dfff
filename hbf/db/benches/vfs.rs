//! The C99 HBF's own versioned-filesystem scenario: 1000 files x 10 versions.
//!
//! `cargo bench -p hbf-db --bench vfs` reports, per database kind:
//! * `initial_writes`: the first version of 1000 files, one write call each;
//! * `version_writes`: versions 2..=10 of the same files (9000 writes);
//! * `latest_reads`: reading the latest version of each of the 1000 files;
//! * on disk also `batched_writes` (`write_many`, 100 files per transaction) and
//!   `group_commit_writes` (4 threads writing at once, committed together).
//!
//! Throughput is in elements (files written or read) per second.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hbf_db::{Database, VersionedFs};

const FILES: usize = 1000;
const VERSIONS: usize = 10;

fn content(file: usize, version: usize) -> Vec<u8> {
    format!(
        "// file {file} version {version}\nexport const value = {};\n{}",
        file * version,
        "x".repeat(200)
    )
    .into_bytes()
}

fn path(file: usize) -> String {
    format!("static/dir{}/file{file}.js", file % 10)
}

/// A fresh database of the kind under test (the temp dir lives as long as it).
struct Fresh {
    db: Database,
    _dir: Option<tempfile::TempDir>,
}

fn fresh(on_disk: bool) -> Fresh {
    if on_disk {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path().join("bench.db")).unwrap();
        Fresh {
            db,
            _dir: Some(dir),
        }
    } else {
        Fresh {
            db: Database::memory().unwrap(),
            _dir: None,
        }
    }
}

fn populated(on_disk: bool, versions: usize) -> Fresh {
    let f = fresh(on_disk);
    let fs = f.db.fs();
    for v in 1..=versions {
        fs.write_many((0..FILES).map(|i| (path(i), content(i, v))).collect())
            .unwrap();
    }
    f
}

/// The time `run` takes over `iters` runs, each on what `setup` made (not
/// timed).
fn timed<T>(iters: u64, setup: impl Fn() -> T, run: impl Fn(&T)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let made = setup();
        let start = Instant::now();
        run(&made);
        total += start.elapsed();
    }
    total
}

/// [`timed`] writes of versions 2 to [`VERSIONS`] of every file, each
/// version by `write`, over a fixture that has version 1.
fn new_versions(iters: u64, on_disk: bool, write: impl Fn(&VersionedFs, usize)) -> Duration {
    timed(
        iters,
        || populated(on_disk, 1),
        |f| {
            let fs = f.db.fs();
            for v in 2..=VERSIONS {
                write(&fs, v);
            }
        },
    )
}

fn scenario(c: &mut Criterion, on_disk: bool) {
    let kind = if on_disk { "disk" } else { "memory" };
    let mut group = c.benchmark_group(format!("vfs_{kind}"));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(4));

    group.throughput(Throughput::Elements(FILES as u64));
    group.bench_function("initial_writes", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                || fresh(on_disk),
                |f| {
                    let fs = f.db.fs();
                    for i in 0..FILES {
                        fs.write(&path(i), content(i, 1)).unwrap();
                    }
                },
            )
        })
    });

    group.throughput(Throughput::Elements((FILES * (VERSIONS - 1)) as u64));
    group.bench_function("version_writes", |b| {
        b.iter_custom(|iters| {
            new_versions(iters, on_disk, |fs, v| {
                for i in 0..FILES {
                    fs.write(&path(i), content(i, v)).unwrap();
                }
            })
        })
    });

    if on_disk {
        group.throughput(Throughput::Elements((FILES * (VERSIONS - 1)) as u64));
        group.bench_function("batched_writes", |b| {
            b.iter_custom(|iters| {
                new_versions(iters, on_disk, |fs, v| {
                    for chunk in (0..FILES).collect::<Vec<_>>().chunks(100) {
                        let files = chunk.iter().map(|&i| (path(i), content(i, v)));
                        fs.write_many(files.collect()).unwrap();
                    }
                })
            })
        });

        group.throughput(Throughput::Elements((FILES * (VERSIONS - 1)) as u64));
        group.bench_function("group_commit_writes", |b| {
            b.iter_custom(|iters| {
                timed(
                    iters,
                    || populated(on_disk, 1),
                    |f| {
                        std::thread::scope(|s| {
                            for t in 0..4 {
                                let fs = f.db.fs();
                                s.spawn(move || {
                                    for v in 2..=VERSIONS {
                                        for i in (t..FILES).step_by(4) {
                                            fs.write(&path(i), content(i, v)).unwrap();
                                        }
                                    }
                                });
                            }
                        })
                    },
                )
            })
        });
    }

    let f = populated(on_disk, VERSIONS);
    let fs = f.db.fs();
    let paths: Vec<String> = (0..FILES).map(path).collect();
    group.throughput(Throughput::Elements(FILES as u64));
    group.bench_function("latest_reads", |b| {
        b.iter(|| {
            for p in &paths {
                black_box(fs.read(p).unwrap());
            }
        })
    });
    group.finish();
}

fn memory(c: &mut Criterion) {
    scenario(c, false);
}

fn disk(c: &mut Criterion) {
    scenario(c, true);
}

criterion_group!(benches, memory, disk);
criterion_main!(benches);
