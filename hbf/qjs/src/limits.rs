//! A request's two time limits, as Workers has them: the CPU time its
//! JavaScript and SQL use (`--js-timeout`) and the wall-clock time it may
//! take, waits included (`--js-wall-timeout`). Waiting on a timer, a fetch or
//! a slow client uses no CPU time, so a request that waits is ended only by
//! the wall bound; a busy loop is ended by the CPU bound long before.
//!
//! Both are read by QuickJS's interrupt handler, `hbf:db`'s progress handler
//! and host work that loops (PBKDF2, RSA key generation). The CPU clock is
//! the worker thread's own: a request runs on one thread from start to end.
//!
//! A streamed response may go on past the wall-clock limit while it flows:
//! each chunk sent moves the deadline to at least the stream idle bound from
//! then (`--js-stream-idle-timeout`), so a stream that stalls longer than that
//! is ended, and one that keeps flowing is ended only by its CPU time.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The CPU time the calling thread has used.
pub(crate) fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a pointer to a live
    // local; CLOCK_THREAD_CPUTIME_ID names the calling thread's clock.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    if rc != 0 {
        // Never seen on Linux; the wall bound still ends the request.
        return Duration::ZERO;
    }
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Which limit a request went past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Passed {
    Cpu,
    Wall,
}

/// The running request's limits, shared with QuickJS's interrupt handler
/// (hence atomics; 0 stands for none).
///
/// Reading the thread's CPU clock is a system call (no vDSO for it), and the
/// engine checks its limits between promise jobs; but a thread cannot use
/// more CPU time than the wall-clock time that passed, so the CPU clock is
/// read only once the CPU limit's span of wall-clock time has passed since
/// the request began (`cpu_check_from`): never, for a request shorter than
/// its CPU limit, but once when it starts.
pub(crate) struct Limits {
    /// The wall-clock deadline, in nanoseconds since `epoch`.
    wall: AtomicU64,
    /// The value of the thread's CPU clock (nanoseconds) at which the
    /// request has used its CPU time.
    cpu: AtomicU64,
    /// Nanoseconds since `epoch` before which the CPU time cannot have been
    /// used up.
    cpu_check_from: AtomicU64,
    epoch: Instant,
}

impl Limits {
    pub(crate) fn new() -> Self {
        Self {
            wall: AtomicU64::new(0),
            cpu: AtomicU64::new(0),
            cpu_check_from: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// Starts a request's limits on the calling thread.
    pub(crate) fn arm(&self, cpu: Duration, wall: Duration) {
        let now = self.epoch.elapsed();
        self.wall
            .store(((now + wall).as_nanos() as u64).max(1), Ordering::Relaxed);
        self.cpu_check_from
            .store((now + cpu).as_nanos() as u64, Ordering::Relaxed);
        let cpu = (thread_cpu_time() + cpu).as_nanos() as u64;
        self.cpu.store(cpu.max(1), Ordering::Relaxed);
    }

    pub(crate) fn disarm(&self) {
        self.wall.store(0, Ordering::Relaxed);
        self.cpu.store(0, Ordering::Relaxed);
    }

    /// The limit the running request went past, the CPU time first (a
    /// request that used its CPU time is told so even if it also waited).
    pub(crate) fn passed(&self) -> Option<Passed> {
        let now = self.epoch.elapsed().as_nanos() as u64;
        if self.cpu_used_up(now) {
            return Some(Passed::Cpu);
        }
        let wall = self.wall.load(Ordering::Relaxed);
        (wall != 0 && now >= wall).then_some(Passed::Wall)
    }

    /// Whether either limit passed (QuickJS's interrupt handler, and
    /// between promise jobs).
    pub(crate) fn any_passed(&self) -> bool {
        let wall = self.wall.load(Ordering::Relaxed);
        let now = self.epoch.elapsed().as_nanos() as u64;
        (wall != 0 && now >= wall) || self.cpu_used_up(now)
    }

    /// Whether the CPU time is used up, `now` being nanoseconds since
    /// `epoch`: the CPU clock is read only when it could be.
    fn cpu_used_up(&self, now: u64) -> bool {
        let cpu = self.cpu.load(Ordering::Relaxed);
        cpu != 0
            && now >= self.cpu_check_from.load(Ordering::Relaxed)
            && thread_cpu_time().as_nanos() as u64 >= cpu
    }

    /// Time until the wall-clock deadline (zero when past it or unarmed).
    pub(crate) fn wall_left(&self) -> Duration {
        let wall = self.wall.load(Ordering::Relaxed);
        Duration::from_nanos(wall.saturating_sub(self.epoch.elapsed().as_nanos() as u64))
    }

    /// The wall-clock deadline, for waits (`None` when unarmed).
    pub(crate) fn wall_deadline(&self) -> Option<Instant> {
        match self.wall.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(self.epoch + Duration::from_nanos(nanos)),
        }
    }

    /// Moves the wall-clock deadline to at least `span` from now (an armed
    /// request only); the deadline after.
    pub(crate) fn extend_wall(&self, span: Duration) -> Option<Instant> {
        let until = (self.epoch.elapsed() + span).as_nanos() as u64;
        let _ = self
            .wall
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |wall| {
                (wall != 0).then_some(wall.max(until))
            });
        self.wall_deadline()
    }

    /// The moment before which the CPU time cannot be used up.
    pub(crate) fn cpu_check_from(&self) -> Instant {
        self.epoch + Duration::from_nanos(self.cpu_check_from.load(Ordering::Relaxed))
    }

    /// The CPU clock's value at which the CPU time is used up (`None` when
    /// unarmed).
    pub(crate) fn cpu_until(&self) -> Option<Duration> {
        match self.cpu.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }
}

thread_local! {
    /// The running request's limits and its stream idle bound, for host
    /// functions (waits, loops, a stream's chunks).
    static CURRENT: RefCell<Option<(Arc<Limits>, Duration)>> = const { RefCell::new(None) };
}

/// The engine: `limits` are the running request's on this thread (`None`
/// between requests), with the idle bound of its streamed response.
pub(crate) fn set_current(current: Option<(Arc<Limits>, Duration)>) {
    CURRENT.with(|c| *c.borrow_mut() = current);
}

/// Whether the request running on this thread went past either limit
/// (false between requests): host work that loops long stops then.
pub(crate) fn current_passed() -> bool {
    CURRENT.with(|c| {
        c.borrow()
            .as_ref()
            .is_some_and(|(limits, _)| limits.any_passed())
    })
}

/// The wall-clock deadline of the request running on this thread (`None`
/// between requests), for its waits (`fetch`).
pub(crate) fn current_wall_deadline() -> Option<Instant> {
    CURRENT.with(|c| {
        c.borrow()
            .as_ref()
            .and_then(|(limits, _)| limits.wall_deadline())
    })
}

/// A chunk of the running request's streamed response went out: its
/// wall-clock deadline moves to at least the idle bound from now. The new
/// deadline (`None` outside a request).
pub(crate) fn stream_flowed() -> Option<Instant> {
    CURRENT.with(|c| {
        let current = c.borrow();
        let (limits, idle) = current.as_ref()?;
        limits.extend_wall(*idle)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_uses_wall_time_and_spinning_uses_cpu_time() {
        let limits = Limits::new();
        assert_eq!(limits.passed(), None, "unarmed");
        limits.arm(Duration::from_millis(30), Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(limits.passed(), None, "50 ms of sleep used no CPU time");
        limits.arm(Duration::from_secs(60), Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(limits.passed(), Some(Passed::Wall));
        assert!(limits.any_passed());

        limits.arm(Duration::from_millis(30), Duration::from_secs(60));
        let start = Instant::now();
        while limits.passed().is_none() {
            assert!(start.elapsed() < Duration::from_secs(30), "never passed");
        }
        assert_eq!(limits.passed(), Some(Passed::Cpu));
        limits.disarm();
        assert_eq!(limits.passed(), None);
        assert!(!limits.any_passed());
    }

    #[test]
    fn a_flowing_stream_moves_the_wall_deadline_forward_only() {
        let limits = Limits::new();
        assert_eq!(limits.extend_wall(Duration::from_secs(1)), None, "unarmed");
        limits.arm(Duration::from_secs(60), Duration::from_secs(10));
        let first = limits.wall_deadline().unwrap();
        assert_eq!(limits.extend_wall(Duration::from_secs(1)), Some(first));
        let later = limits.extend_wall(Duration::from_secs(20)).unwrap();
        assert!(
            later >= first + Duration::from_secs(9),
            "{later:?} {first:?}"
        );
    }
}
