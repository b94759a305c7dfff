//! Writer threads that commit every request waiting for them in one
//! transaction (the dev API's PUTs, the block service's): one thread wake-up
//! per commit, not two context switches per write.

use std::sync::mpsc::Receiver;

use tokio::sync::oneshot;

/// Where one request's outcome goes.
pub type Answer<R> = oneshot::Sender<hbf_db::Result<R>>;

/// `first` and what else waits in `queue` now, at most `max` in all.
pub fn take_waiting<T>(queue: &Receiver<T>, first: T, max: usize) -> Vec<T> {
    let mut batch = vec![first];
    while batch.len() < max {
        match queue.try_recv() {
            Ok(item) => batch.push(item),
            Err(_) => break,
        }
    }
    batch
}

/// Answers each request with its own outcome, or every one with the failure
/// of the commit they shared.
pub fn answer_all<R>(answers: Vec<Answer<R>>, outcomes: hbf_db::Result<Vec<hbf_db::Result<R>>>) {
    match outcomes {
        Ok(outcomes) => {
            for (answer, outcome) in answers.into_iter().zip(outcomes) {
                let _ = answer.send(outcome);
            }
        }
        Err(e) => {
            let reason = e.to_string();
            for answer in answers {
                let _ = answer.send(Err(hbf_db::Error::CommitFailed(reason.clone())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_what_waits_up_to_the_limit() {
        let (tx, rx) = std::sync::mpsc::channel();
        for i in 1..=5 {
            tx.send(i).unwrap();
        }
        assert_eq!(take_waiting(&rx, 0, 3), [0, 1, 2]);
        assert_eq!(take_waiting(&rx, 9, 10), [9, 3, 4, 5]);
    }

    #[test]
    fn a_failed_commit_fails_every_request() {
        let (a, mut ra) = oneshot::channel::<hbf_db::Result<u8>>();
        let (b, mut rb) = oneshot::channel();
        answer_all(vec![a, b], Err(hbf_db::Error::Sql("disk full".into())));
        for r in [ra.try_recv().unwrap(), rb.try_recv().unwrap()] {
            assert!(matches!(r, Err(hbf_db::Error::CommitFailed(m)) if m.contains("disk full")));
        }
        let (a, mut ra) = oneshot::channel::<hbf_db::Result<u8>>();
        answer_all(vec![a], Ok(vec![Ok(7)]));
        assert_eq!(ra.try_recv().unwrap().unwrap(), 7);
    }
}
