//! The block store without HTTP: what storing 4 KiB blocks costs in SQLite.
//!
//! `taskset -c 1 cargo bench -p hbf-db --bench blocks` (one core, as the block
//! service is measured in DOCS/PERF.md: the checkpointer thread shares it)
//! reports blocks per second of CPU time (every thread's, so the
//! checkpointer's too; time waiting for the disk is not counted) for:
//! * `put_4k_x50`: 50 new 4 KiB blocks in one transaction (`put_many`, what
//!   the service's group commit does with 50 connections' PUTs), on a file
//!   database (WAL, `synchronous = NORMAL`, the checkpointer running) that
//!   grows over the run;
//! * `put_4k_x50_memory`: the same in an in-memory database (SQLite's own
//!   work: no WAL, no checkpoint, no system calls; a new database per sample);
//! * `sha256_4k`: hashing the block alone.
//!
//! The HTTP path adds its own cost on top (DOCS/PERF.md, issue 14).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hbf_db::{BlockKind, BlockPut, BlockStore, Database};
use sha2::{Digest, Sha256};

const BLOCK: usize = 4096;
const BATCH: usize = 50;

/// `BATCH` blocks never stored before (a counter in the first bytes).
fn batch(counter: &mut u64) -> Vec<BlockPut> {
    (0..BATCH)
        .map(|_| {
            *counter += 1;
            let mut data = vec![b'b'; BLOCK];
            data[..8].copy_from_slice(&counter.to_le_bytes());
            BlockPut {
                kind: BlockKind::Block,
                key: None,
                data,
            }
        })
        .collect()
}

/// CPU time of every thread of this process so far, in nanoseconds
/// (`/proc/self/task/*/schedstat`): the checkpointer's included, the time
/// spent waiting for the disk not.
fn cpu_nanos() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Measures `put_many` of new batches in CPU time; `store` makes the store
/// of each sample.
fn put(c: &mut Criterion, name: &str, store: impl Fn() -> BlockStore) {
    let mut counter = 0u64;
    let mut group = c.benchmark_group("blocks");
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let store = store();
            let batches: Vec<_> = (0..iters).map(|_| batch(&mut counter)).collect();
            let start = cpu_nanos();
            for puts in batches {
                let outcomes = store.put_many(puts).expect("the transaction");
                assert!(outcomes.iter().all(Result::is_ok));
            }
            Duration::from_nanos(cpu_nanos() - start)
        })
    });
    group.finish();
}

fn blocks(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let file = BlockStore::new(Database::open(dir.path().join("blocks.db")).unwrap());
    put(c, "put_4k_x50", || file.clone());
    put(c, "put_4k_x50_memory", || {
        BlockStore::new(Database::memory().unwrap())
    });

    let data = vec![b'b'; BLOCK];
    let mut group = c.benchmark_group("blocks");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sha256_4k", |b| b.iter(|| Sha256::digest(black_box(&data))));
    group.finish();
}

criterion_group!(benches, blocks);
criterion_main!(benches);
