//! The writer thread that stores the dev API's PUTs, apart from the routes
//! because it is a thread with its own loop: the PUT route hands it a [`Put`]
//! and awaits the answer, so the server's async threads never wait on a commit.

use hbf_db::{FileVersion, Precondition};

/// One `PUT` for the [`Writer`].
pub(super) struct Put {
    pub(super) path: String,
    pub(super) data: Vec<u8>,
    pub(super) expected: Precondition,
    pub(super) done: tokio::sync::oneshot::Sender<hbf_db::Result<FileVersion>>,
}

/// Most PUTs committed together.
const PUTS_PER_COMMIT: usize = 256;

/// The thread that stores PUTs: it takes every PUT waiting in its queue and
/// commits them in one transaction ([`hbf_db::VersionedFs::write_each_if`],
/// each with its own precondition and outcome), then answers each request
/// through its oneshot. Under load a commit costs one wake-up of this thread,
/// where a blocking thread per request waiting on the group commit cost two
/// context switches per write (a third of the CPU, see DOCS/PERF.md). It ends
/// when the [`DevApi`](super::DevApi) (the queue's sender) is dropped.
pub(super) struct Writer {
    pub(super) fs: hbf_db::VersionedFs,
    pub(super) queue: std::sync::mpsc::Receiver<Put>,
}

impl Writer {
    pub(super) fn run(self) {
        while let Ok(first) = self.queue.recv() {
            let batch = crate::batch::take_waiting(&self.queue, first, PUTS_PER_COMMIT);
            let (writes, answers): (Vec<_>, Vec<_>) = batch
                .into_iter()
                .map(|p| ((p.path, p.data, p.expected), p.done))
                .unzip();
            crate::batch::answer_all(answers, self.fs.write_each_if(writes));
        }
    }
}
