//! Where a call's work is cut off, as the core sees it: a deadline checked
//! between pipeline stages, so that work nobody waits for any more stops at
//! the next check instead of running to the end on a blocking thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// When a call's work must stop: at a point in time, or as soon as its
/// caller has gone (see [`Deadline::cancel_on_drop`]). Cheap to clone; the
/// clones share the cancellation.
#[derive(Debug, Clone, Default)]
pub struct Deadline {
    at: Option<Instant>,
    cancelled: Arc<AtomicBool>,
}

impl Deadline {
    /// No time limit (offline runs); never cancelled unless told.
    pub fn none() -> Deadline {
        Deadline::default()
    }

    /// `limit` from now.
    pub fn after(limit: Duration) -> Deadline {
        Deadline {
            at: Instant::now().checked_add(limit),
            cancelled: Arc::default(),
        }
    }

    /// Stops the work at its next check.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// A guard that cancels the work when dropped: hold it in the future
    /// that waits for the work, so a caller that goes away (or times out)
    /// stops it.
    pub fn cancel_on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(self.clone())
    }

    /// Ok while the work should go on; [`Error::DeadlineExceeded`] once the
    /// deadline has passed or the work was cancelled.
    pub fn check(&self) -> Result<()> {
        let late = self.at.is_some_and(|at| Instant::now() >= at);
        if late || self.cancelled.load(Ordering::Relaxed) {
            return Err(Error::DeadlineExceeded);
        }
        Ok(())
    }
}

/// Cancels its [`Deadline`] when dropped.
#[derive(Debug)]
pub struct CancelOnDrop(Deadline);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_stops_work_when_passed_or_cancelled() {
        assert!(Deadline::none().check().is_ok());
        assert!(Deadline::after(Duration::from_secs(3600)).check().is_ok());
        assert!(Deadline::after(Duration::ZERO).check().is_err());
        let d = Deadline::after(Duration::from_secs(3600));
        let worker = d.clone();
        drop(d.cancel_on_drop());
        assert!(matches!(worker.check(), Err(Error::DeadlineExceeded)));
    }
}
