//! The cost of each isolation mode, without HTTP: one engine (one worker thread)
//! serving the base pod's `GET /hello` and `GET /user/42`.
//!
//! `cargo bench -p hbf-qjs --bench isolation`

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hbf_db::Database;
use hbf_qjs::{Engine, EngineConfig, Isolation, PodCode};

#[path = "../tests/common/mod.rs"]
mod common;

/// An in-memory database holding every file of `pods/base`.
fn base_pod() -> Database {
    let db = Database::memory().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pods/base");
    let mut stack = vec![(root.clone(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let name = format!("{prefix}{}", entry.file_name().to_str().unwrap());
            if entry.file_type().unwrap().is_dir() {
                stack.push((entry.path(), format!("{name}/")));
            } else if name.starts_with("hbf/") || name.starts_with("static/") {
                db.fs()
                    .write(&name, std::fs::read(entry.path()).unwrap())
                    .unwrap();
            }
        }
    }
    db
}

fn isolation(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(1));
    for (name, mode) in [
        ("snapshot", Isolation::Snapshot),
        ("worker", Isolation::Worker),
    ] {
        let db = base_pod();
        let modules = PodCode::new(db.clone());
        // The base pod declares `worker`: measure each mode as chosen here.
        let config = EngineConfig {
            isolation: mode,
            isolation_from_pod: false,
            ..EngineConfig::default()
        };
        let mut engine = Engine::new(db, modules, config).unwrap();
        engine.warm_up();
        for path in ["/hello", "/user/42"] {
            let req = common::get(path);
            assert_eq!(engine.handle(&req).unwrap().status, 200.0);
            if mode == Isolation::Snapshot {
                for _ in 0..200 {
                    engine.handle(&req).unwrap();
                }
                engine.measure_restores(true);
                assert_eq!(engine.handle(&req).unwrap().status, 200.0);
                let stats = engine.measure_restores(false).unwrap();
                println!(
                    "snapshot {path}: heap {} bytes, {} pages changed, {} copied, {} bytes above, restore {} ns",
                    stats.heap_bytes,
                    stats.pages_changed,
                    stats.pages_copied,
                    stats.bytes_above,
                    stats.restore_nanos
                );
            }
            group.bench_function(format!("{name}_isolation{path}"), |b| {
                b.iter(|| engine.handle(&req).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, isolation);
criterion_main!(benches);
