//! `setTimeout`, `setInterval` and their `clear`s: run inside the request
//! that set them, under its wall-clock limit, and never in another request;
//! waiting uses no CPU time (issue 26, point 4).

mod common;

use std::time::{Duration, Instant};

use common::{get, json};
use hbf_qjs::{EngineConfig, Isolation, JsError};

const SERVER: &str = r#"
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
setTimeout(() => { globalThis.fromTopLevel = true }, 0)
const routes = {
  '/order': async () => {
    const seen = []
    setTimeout((a, b) => seen.push(`30 ${a}${b}`), 30, 'x', 'y')
    setTimeout(() => seen.push('10'), 10)
    const cancelled = setTimeout(() => seen.push('never'), 5)
    clearTimeout(cancelled)
    setTimeout(() => { Promise.resolve().then(() => seen.push('job after 0')) ; seen.push('0') })
    let ticks = 0
    const interval = setInterval(() => { if (++ticks === 3) clearInterval(interval) }, 5)
    setTimeout(() => { throw new Error('a timer failed') }, 1)
    await sleep(60)
    return { seen, ticks, ids: typeof cancelled }
  },
  '/slept': async () => {
    const start = Date.now()
    await sleep(50)
    return { waited: Date.now() - start >= 45 }
  },
  '/past-deadline': async () => { await sleep(60000); return {} },
  '/sleep-300': async () => { await sleep(100); await sleep(100); await sleep(100); return { slept: true } },
  '/spin': () => { for (;;) {} },
  '/leave': () => { setTimeout(() => { globalThis.leaked = 'a timer of an earlier request' }, 20); setInterval(() => { globalThis.leaked = 'an interval' }, 5); return {} },
  '/look': () => ({ leaked: globalThis.leaked ?? null, fromTopLevel: globalThis.fromTopLevel ?? null }),
  '/abort-timeout': async () => {
    const signal = AbortSignal.timeout(20)
    const before = signal.aborted
    const heard = new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason)))
    const reason = await heard
    const bad = [-1, NaN, Infinity].map((n) => { try { AbortSignal.timeout(n); return null } catch (e) { return e.name } })
    return { before, after: signal.aborted, reason: [reason.name, reason instanceof DOMException, reason.message], bad }
  },
  '/string': () => { try { setTimeout('globalThis.x = 1', 1) } catch (e) { return { name: e.name } } return {} },
}
export default { async fetch(request) { return Response.json(await routes[new URL(request.url).pathname]()) } }
"#;

fn each_mode(check: impl Fn(&mut hbf_qjs::Engine, Isolation)) {
    for isolation in [Isolation::Snapshot, Isolation::Worker] {
        let config = EngineConfig {
            isolation,
            isolation_from_pod: false,
            timeout: Duration::from_millis(1500),
            wall_timeout: Duration::from_millis(1500),
            ..EngineConfig::default()
        };
        let mut engine = common::engine(&[("hbf/server.js", SERVER)], config);
        check(&mut engine, isolation);
    }
}

#[test]
fn timers_fire_in_order_with_their_arguments() {
    each_mode(|e, mode| {
        assert_eq!(
            json(e, "/order"),
            serde_json::json!({"seen": ["0", "job after 0", "10", "30 xy"], "ticks": 3, "ids": "number"}),
            "{mode:?}"
        );
        assert_eq!(json(e, "/slept"), serde_json::json!({"waited": true}));
        assert_eq!(json(e, "/string"), serde_json::json!({"name": "TypeError"}));
    });
}

#[test]
fn a_timer_past_the_deadline_is_the_deadline() {
    each_mode(|e, mode| {
        let started = Instant::now();
        let outcome = e.handle(&get("/past-deadline"));
        assert_eq!(
            outcome,
            Err(JsError::WallTimeout(Duration::from_millis(1500))),
            "{mode:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{mode:?}");
        // The worker serves on.
        assert_eq!(json(e, "/slept"), serde_json::json!({"waited": true}));
    });
}

/// `--js-timeout` is CPU time, as on Workers: a request asleep for three
/// times its CPU limit is served, a busy loop is stopped at the CPU limit
/// (`Timeout`) long before the wall-clock one, and a wait past the
/// wall-clock limit is `WallTimeout`.
#[test]
fn waiting_counts_against_the_wall_clock_limit_only() {
    for isolation in [Isolation::Snapshot, Isolation::Worker] {
        let config = EngineConfig {
            isolation,
            isolation_from_pod: false,
            timeout: Duration::from_millis(100),
            wall_timeout: common::deadline(20_000),
            ..EngineConfig::default()
        };
        let mut e = common::engine(&[("hbf/server.js", SERVER)], config);
        let started = Instant::now();
        assert_eq!(
            json(&mut e, "/sleep-300"),
            serde_json::json!({"slept": true}),
            "{isolation:?}"
        );
        assert!(started.elapsed() >= Duration::from_millis(300));
        let started = Instant::now();
        assert_eq!(
            e.handle(&get("/spin")),
            Err(JsError::Timeout(Duration::from_millis(100))),
            "{isolation:?}"
        );
        assert!(
            started.elapsed() < common::deadline(10_000),
            "{isolation:?}: {:?}",
            started.elapsed()
        );
        assert_eq!(
            e.handle(&get("/past-deadline")),
            Err(JsError::WallTimeout(common::deadline(20_000))),
            "{isolation:?}"
        );
    }
}

#[test]
fn a_timer_never_fires_in_another_request() {
    each_mode(|e, mode| {
        assert_eq!(
            json(e, "/look"),
            serde_json::json!({"leaked": null, "fromTopLevel": null}),
            "{mode:?}: a top-level timer is dropped"
        );
        json(e, "/leave");
        std::thread::sleep(Duration::from_millis(50));
        for _ in 0..3 {
            assert_eq!(
                json(e, "/look"),
                serde_json::json!({"leaked": null, "fromTopLevel": null}),
                "{mode:?}"
            );
            // A request that waits gives a leftover timer every chance to fire.
            json(e, "/slept");
        }
    });
}

#[test]
fn abort_signal_timeout_aborts_with_a_timeout_error() {
    each_mode(|e, mode| {
        assert_eq!(
            json(e, "/abort-timeout"),
            serde_json::json!({
                "before": false, "after": true,
                "reason": ["TimeoutError", true, "The operation timed out."],
                "bad": ["TypeError", "TypeError", "TypeError"],
            }),
            "{mode:?}"
        );
    });
}
