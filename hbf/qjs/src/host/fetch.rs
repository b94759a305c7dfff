//! The native half of `fetch()` (its JavaScript is in `js/web.js`): starts
//! outbound requests on `hbf_net`'s client and hands their answers back to
//! the engine, which waits for them as it waits for timers
//! (`engine/jobs.rs`).
//!
//! A request's outbound requests are its own: each gets an id in a
//! thread-local table made for the request; the answers come back through a
//! channel of that table; when the request ends ([`end_request`]) every one
//! still under way is aborted and its answer can reach no other request.
//! Nothing of them lives in the JavaScript heap but ids, so a snapshot's
//! restore forgets nothing.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hbf_net::{BodyBudget, Inbound, Outbound, Pending, Redirect};
use rquickjs::{Array, Ctx, Value};

use super::{bytes_of, deadline, log, request_id};

/// What `fetch()` may do in this engine (`EngineConfig`).
#[derive(Debug, Clone, Default)]
pub struct FetchConfig {
    /// The outbound client; `None`: no `--allow-net`, every fetch fails.
    pub client: Option<hbf_net::Client>,
    /// The most fetches one request may start (`--fetch-max-per-request`).
    pub max_per_request: u32,
    /// The most bytes of response bodies a request's fetches may hold
    /// outside its heap at once (the request's memory limit).
    pub max_body: usize,
}

type Answer = (u32, Result<Inbound, hbf_net::Error>, Duration);

/// One request's outbound requests.
struct Flights {
    started: u32,
    budget: BodyBudget,
    under_way: HashMap<u32, (Pending, String)>,
    answers: mpsc::Receiver<Answer>,
    sender: mpsc::Sender<Answer>,
}

impl Flights {
    fn new(max_body: usize) -> Flights {
        let (sender, answers) = mpsc::channel();
        Flights {
            started: 0,
            budget: BodyBudget::new(max_body),
            under_way: HashMap::new(),
            answers,
            sender,
        }
    }
}

thread_local! {
    static CONFIG: RefCell<FetchConfig> = RefCell::new(FetchConfig::default());
    static FLIGHTS: RefCell<Option<Flights>> = const { RefCell::new(None) };
}

/// Sets this worker's fetch configuration (at engine start).
pub(crate) fn configure(config: FetchConfig) {
    CONFIG.with(|c| *c.borrow_mut() = config);
}

/// `fetchStart(method, url, headers, body, redirect)`: starts a request and
/// answers its id; a `TypeError` at once if it cannot start (no
/// `--allow-net`, too many for this request, bad input).
pub(super) fn start<'js>(
    ctx: Ctx<'js>,
    method: String,
    url: String,
    headers: Array<'js>,
    body: Value<'js>,
    redirect: String,
) -> rquickjs::Result<u32> {
    let type_error = |message: &str| rquickjs::Exception::throw_type(&ctx, message);
    let config = CONFIG.with(|c| c.borrow().clone());
    let Some(client) = config.client else {
        return Err(type_error(&format!(
            "fetch to {url} is not allowed: this server gives pods no network (start hbf with --allow-net HOSTS)"
        )));
    };
    let redirect = match redirect.as_str() {
        "follow" => Redirect::Follow,
        "manual" => Redirect::Manual,
        "error" => Redirect::Error,
        other => {
            return Err(type_error(&format!(
                "fetch: '{other}' is not a redirect mode"
            )))
        }
    };
    let mut pairs = Vec::with_capacity(headers.len() / 2);
    for i in (0..headers.len()).step_by(2) {
        pairs.push((headers.get::<String>(i)?, headers.get::<String>(i + 1)?));
    }
    let body = if body.is_null() || body.is_undefined() {
        Vec::new()
    } else {
        bytes_of(&ctx, &body)?
    };
    let (Some(deadline), true) = (deadline(), request_id() != 0) else {
        return Err(type_error(
            "fetch: only a request can fetch, not the pod's top-level code (as on Workers)",
        ));
    };
    FLIGHTS.with(|f| {
        let mut flights = f.borrow_mut();
        let flights = flights.get_or_insert_with(|| Flights::new(config.max_body));
        if flights.started >= config.max_per_request {
            return Err(type_error(&format!(
                "fetch: a request may make at most {} subrequests (--fetch-max-per-request)",
                config.max_per_request
            )));
        }
        flights.started += 1;
        let id = flights.started;
        let sender = flights.sender.clone();
        let started = Instant::now();
        let label = format!("{method} {url}");
        let pending = client.start(
            Outbound {
                method,
                url,
                headers: pairs,
                body,
                redirect,
                deadline,
                budget: flights.budget.clone(),
                request_id: request_id(),
            },
            move |answer| {
                let _ = sender.send((id, answer, started.elapsed()));
            },
        );
        flights.under_way.insert(id, (pending, label));
        Ok(id)
    })
}

/// `fetchAbort(id)`: stops a request under way (its signal aborted).
pub(super) fn abort(id: u32) {
    FLIGHTS.with(|f| {
        if let Some(flights) = f.borrow_mut().as_mut() {
            if let Some((pending, _)) = flights.under_way.remove(&id) {
                pending.abort();
            }
        }
    });
}

/// How many of the request's fetches are under way.
pub(crate) fn under_way() -> usize {
    FLIGHTS.with(|f| f.borrow().as_ref().map_or(0, |f| f.under_way.len()))
}

/// The next answer, waiting at most `wait` for one.
pub(crate) fn next_answer(wait: Duration) -> Option<(u32, Result<Inbound, hbf_net::Error>)> {
    let answer = FLIGHTS.with(|f| {
        let flights = f.borrow();
        let flights = flights.as_ref()?;
        if flights.under_way.is_empty() {
            return None;
        }
        match flights.answers.try_recv() {
            Ok(answer) => Some(answer),
            Err(_) if wait.is_zero() => None,
            Err(_) => flights.answers.recv_timeout(wait).ok(),
        }
    })?;
    let (id, result, took) = answer;
    let label = FLIGHTS.with(|f| {
        let mut flights = f.borrow_mut();
        let flights = flights.as_mut()?;
        // The body goes into the heap now, under its limit.
        if let Ok(inbound) = &result {
            flights.budget.release(inbound.body.len());
        }
        flights.under_way.remove(&id).map(|(_, label)| label)
    })?; // aborted meanwhile: nobody waits for it
    match &result {
        Ok(inbound) => log(
            "info",
            &format!(
                "fetch {label} -> {} ({} ms)",
                inbound.status,
                took.as_millis()
            ),
        ),
        Err(e) => log("warn", &format!("{e} ({} ms)", took.as_millis())),
    }
    Some((id, result))
}

/// An answer as the JavaScript side takes it: `[status, statusText,
/// [name, value, ...], body, url, redirected]`, or the error's message.
pub(crate) fn to_js<'js>(
    ctx: &Ctx<'js>,
    result: Result<Inbound, hbf_net::Error>,
) -> rquickjs::Result<(bool, Value<'js>)> {
    match result {
        Ok(inbound) => {
            let out = Array::new(ctx.clone())?;
            out.set(0, inbound.status)?;
            out.set(1, inbound.status_text)?;
            let headers = Array::new(ctx.clone())?;
            for (i, (name, value)) in inbound.headers.into_iter().enumerate() {
                headers.set(2 * i, name)?;
                headers.set(2 * i + 1, value)?;
            }
            out.set(2, headers)?;
            out.set(
                3,
                rquickjs::TypedArray::<u8>::new_copy(ctx.clone(), &inbound.body)?,
            )?;
            out.set(4, inbound.url)?;
            out.set(5, inbound.redirected)?;
            Ok((true, out.into_value()))
        }
        Err(e) => Ok((
            false,
            rquickjs::String::from_str(ctx.clone(), &e.to_string())?.into_value(),
        )),
    }
}

/// Drops the request's outbound requests, aborting those under way.
pub(crate) fn end_request() {
    let flights = FLIGHTS.with(|f| f.borrow_mut().take());
    if let Some(flights) = flights {
        for (pending, _) in flights.under_way.values() {
            pending.abort();
        }
    }
}
