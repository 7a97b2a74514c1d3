//! The one bounded pool for parallel work (ports, status probes, health checks, source lookups,
//! fetches): at most [`MAX_THREADS`] worker threads at once in the whole process, however the
//! work nests, and the calling thread always works too. A thread that cannot be had (the bound is
//! reached, or the system refuses one: a memory limit, a thread limit) means the work runs on the
//! calling thread instead: slower, never a panic. Beside them, at most [`MAX_DETACHED`] threads
//! that are not waited for ([`detached`]: a name lookup, a network transfer, each bounded by the
//! wait of the thread that started it). No declaration in a plugin (3,000 ports) can make atk
//! start more threads than these two bounds.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The most worker threads alive at once, over all the parallel work of the process. Most of
/// the work waits (on a child process, a socket, a fetch), so this is about waits at once, not
/// CPU.
pub const MAX_THREADS: usize = 16;

/// For [`map`]'s `parallel`: as wide as the pool allows (its threads and the calling thread).
pub const WIDEST: usize = MAX_THREADS + 1;

/// The most [`detached`] threads alive at once, apart from [`MAX_THREADS`]: the work of the
/// pool's threads and of the calling thread (a status probe, a fetch each) starts them and waits
/// for them, so they cannot come from the same places, or a pool thread would find none and have
/// to do that work unbounded itself; one each, so that work never waits for one while nothing
/// was given up on.
pub const MAX_DETACHED: usize = WIDEST;

/// Worker threads alive now (taken from [`MAX_THREADS`]).
static BUSY: AtomicUsize = AtomicUsize::new(0);

/// [`detached`] threads alive now (taken from [`MAX_DETACHED`]).
static DETACHED: AtomicUsize = AtomicUsize::new(0);

/// A place in the pool (or among the detached threads), given back when dropped.
struct Permit(&'static AtomicUsize);

impl Permit {
    fn take() -> Option<Permit> {
        Permit::take_from(&BUSY, MAX_THREADS)
    }

    fn take_from(count: &'static AtomicUsize, max: usize) -> Option<Permit> {
        count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < max).then_some(n + 1))
            .ok()
            .map(|_| Permit(count))
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Keeps the memory the pool's threads reserve small, so that a memory limit (`ulimit -v`) that
/// is far above what atk uses is not reached by reservations alone: glibc gives each new thread
/// an arena of its own, reserving 64 MiB of address space each (17 threads: over 1 GiB), and an
/// allocation that cannot be had aborts the process. Two arenas are shared by every thread: the
/// work waits on children and sockets, not on the allocator. Called once by `main`, before any
/// thread is started.
pub fn limit_memory_reservations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::raw::c_int;
        extern "C" {
            fn mallopt(param: c_int, value: c_int) -> c_int;
        }
        /// glibc's `M_ARENA_MAX` (malloc.h).
        const M_ARENA_MAX: c_int = -8;
        // SAFETY: `mallopt` only sets a parameter of glibc's allocator; with `M_ARENA_MAX` it is
        // safe to call at any time (here, before any other thread exists).
        unsafe {
            mallopt(M_ARENA_MAX, 2);
        }
    }
}

/// Runs `work` on every item, at most `parallel` at once (the calling thread included, and
/// never more worker threads than the pool has free); the results in the items' order. A panic
/// in `work` is passed on to the caller.
pub fn map<T: Sync, R: Send>(items: &[T], parallel: usize, work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let helpers = parallel.clamp(1, items.len().max(1)) - 1;
    if helpers == 0 {
        return items.iter().map(&work).collect();
    }
    let next = AtomicUsize::new(0);
    let run = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let Some(item) = items.get(i) else { break };
            done.push((i, work(item)));
        }
        done
    };
    let mut out: Vec<(usize, R)> = std::thread::scope(|s| {
        let mut workers = Vec::new();
        for _ in 0..helpers {
            let Some(permit) = Permit::take() else { break };
            let spawned = std::thread::Builder::new().name("atk-pool".into()).spawn_scoped(s, || {
                let _permit = permit;
                run()
            });
            match spawned {
                Ok(w) => workers.push(w),
                // The system gave no thread (the permit went with the closure): the ones started
                // and the calling thread do the work.
                Err(_) => break,
            }
        }
        let mut out = run();
        for w in workers {
            match w.join() {
                Ok(done) => out.extend(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Runs `a` and `b` at once when the pool has a thread to spare, else one after the other on
/// the calling thread.
pub fn join<A: Send, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    let Some(permit) = Permit::take() else {
        return (a(), b());
    };
    // `a` waits in a cell, so that it can still run here when no thread can be started.
    let cell = std::sync::Mutex::new(Some(a));
    let cell = &cell;
    std::thread::scope(|s| {
        let spawned = std::thread::Builder::new().name("atk-pool".into()).spawn_scoped(s, move || {
            let _permit = permit;
            let a = cell.lock().unwrap_or_else(|p| p.into_inner()).take();
            a.map(|a| a())
        });
        let other = b();
        let first = match spawned {
            Ok(h) => match h.join() {
                Ok(Some(r)) => r,
                Ok(None) => unreachable!("`a` is taken once, by the thread"),
                Err(panic) => std::panic::resume_unwind(panic),
            },
            Err(_) => {
                let a = cell.lock().unwrap_or_else(|p| p.into_inner()).take().expect("not run");
                a()
            }
        };
        (first, other)
    })
}

/// Starts `work` on a thread that is not waited for (it may outlive the caller's wait, as a name
/// lookup that cannot be given a timeout), one of at most [`MAX_DETACHED`]. `Err(work)` when
/// there is no thread for it (as many are still running, or the system gave none): the caller
/// tries again later, or gives up.
pub fn detached<F: FnOnce() + Send + 'static>(name: &str, work: F) -> std::result::Result<(), F> {
    let Some(permit) = Permit::take_from(&DETACHED, MAX_DETACHED) else {
        return Err(work);
    };
    let cell = std::sync::Arc::new(std::sync::Mutex::new(Some(work)));
    let theirs = std::sync::Arc::clone(&cell);
    let spawned = std::thread::Builder::new().name(name.into()).spawn(move || {
        let _permit = permit;
        if let Some(work) = theirs.lock().unwrap_or_else(|p| p.into_inner()).take() {
            work();
        }
    });
    match spawned {
        Ok(_) => Ok(()),
        Err(_) => Err(cell.lock().unwrap_or_else(|p| p.into_inner()).take().expect("not run")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn map_keeps_the_order_and_never_runs_more_than_the_pool_at_once() {
        let items: Vec<u64> = (0..200).collect();
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        // Asked for one thread per item, nested: still at most the pool's threads plus the caller.
        let out = map(&items, items.len(), |i| {
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(n, Ordering::SeqCst);
            let inner = map(&[1u64, 2, 3], 3, |j| j * 10);
            std::thread::sleep(Duration::from_millis(2));
            now.fetch_sub(1, Ordering::SeqCst);
            i * 2 + inner.iter().sum::<u64>()
        });
        assert_eq!(out, items.iter().map(|i| i * 2 + 60).collect::<Vec<_>>());
        let most = most.load(Ordering::SeqCst);
        assert!(most > 1 && most <= MAX_THREADS + 1, "{most} at once");
    }

    #[test]
    fn join_runs_both_and_detached_runs_its_work() {
        assert_eq!(join(|| 1, || 2), (1, 2));
        let (tx, rx) = std::sync::mpsc::channel();
        let sent = tx.clone();
        match detached("t", move || sent.send(5).unwrap()) {
            Ok(()) => {}
            Err(work) => work(),
        }
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 5);
    }

    #[test]
    #[should_panic(expected = "boom")]
    fn a_panic_in_the_work_reaches_the_caller() {
        map(&[1, 2, 3, 4], 4, |&i| if i == 3 { panic!("boom") } else { i });
    }
}
