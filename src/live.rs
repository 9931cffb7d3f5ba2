//! The tagger being served, replaceable while serving: a reload reads and
//! checks a whole model file first, then swaps it in atomically; calls in
//! flight finish on the model they started with.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;

use crate::Result;
use crate::model::Model;
use crate::tagger::Tagger;

/// Names one model file: its version string and the CRC32 of its bytes, so
/// two files with the same version still tell apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelId {
    /// `ModelMeta::version`.
    pub version: String,
    /// CRC32 of the file (0 for a model built in memory).
    pub checksum: u32,
}

impl ModelId {
    /// The id of `model`.
    pub fn of(model: &Model) -> ModelId {
        ModelId {
            version: model.meta().version.clone(),
            checksum: model.checksum(),
        }
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (crc {:08x})", self.version, self.checksum)
    }
}

/// What a successful reload replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// The model served before.
    pub old: ModelId,
    /// The model served now.
    pub new: ModelId,
}

/// The served [`Tagger`], swapped whole on reload. Readers never block:
/// [`LiveTagger::current`] is a lock-free load of an `Arc`.
#[derive(Debug)]
pub struct LiveTagger {
    current: ArcSwap<Tagger>,
    /// SHA-256 a reloaded file must have.
    pin: Option<[u8; 32]>,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
}

impl LiveTagger {
    /// Serves `model` until a reload replaces it.
    pub fn new(model: Model) -> LiveTagger {
        LiveTagger {
            current: ArcSwap::from_pointee(Tagger::new(Arc::new(model))),
            pin: None,
            reloads_ok: AtomicU64::new(0),
            reloads_failed: AtomicU64::new(0),
        }
    }

    /// Reloads accept only a file with this SHA-256 (`--model-sha256`).
    pub fn pinned(self, pin: Option<[u8; 32]>) -> LiveTagger {
        LiveTagger { pin, ..self }
    }

    /// The tagger to use for one call; hold it for the whole call so the
    /// call sees one model even if a reload happens meanwhile.
    pub fn current(&self) -> Arc<Tagger> {
        self.current.load_full()
    }

    /// Reads `path` and checks it as the start does
    /// ([`Model::load_servable`]: size, pinned SHA-256, magic, format
    /// version, checksum, structure, labels, text-pipeline fingerprint),
    /// then swaps it in. On any error the served model stays as it was.
    /// Blocking: reads and decodes a file.
    pub fn reload_from(&self, path: &Path) -> Result<Reloaded> {
        let outcome = Model::load_servable(path, self.pin.as_ref()).map(|model| {
            let new = ModelId::of(&model);
            let old = self.current.swap(Arc::new(Tagger::new(Arc::new(model))));
            Reloaded {
                old: ModelId::of(old.model()),
                new,
            }
        });
        let counter = match outcome {
            Ok(_) => &self.reloads_ok,
            Err(_) => &self.reloads_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        outcome
    }

    /// Reloads so far: (succeeded, failed).
    pub fn reloads(&self) -> (u64, u64) {
        (
            self.reloads_ok.load(Ordering::Relaxed),
            self.reloads_failed.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_file_keeps_the_old_model_and_a_good_one_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.dtm");
        let base = Model::embedded().unwrap();
        let live = LiveTagger::new(base.clone());
        let held = live.current();

        std::fs::write(&path, b"not a model").unwrap();
        let err = live.reload_from(&path).unwrap_err().to_string();
        assert!(err.contains("magic"), "{err}");
        assert!(Arc::ptr_eq(&held, &live.current()), "old model kept");

        base.with_version("next").save(&path).unwrap();
        let done = live.reload_from(&path).unwrap();
        assert_eq!(done.old, ModelId::of(held.model()));
        assert_eq!(done.new.version, "next");
        assert_eq!(live.current().model().meta().version, "next");
        // A call that took the old tagger still has it.
        assert_eq!(
            held.model().meta().version,
            ModelId::of(held.model()).version
        );
        assert_eq!(live.reloads(), (1, 1));
    }

    #[test]
    fn reload_refuses_a_model_without_labels_and_a_file_off_its_pin() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.dtm");
        let base = Model::embedded().unwrap();

        Model::default().save(&path).unwrap();
        let live = LiveTagger::new(base.clone());
        let err = live.reload_from(&path).unwrap_err().to_string();
        assert!(err.contains("no topic or no region labels"), "{err}");

        base.clone().with_version("next").save(&path).unwrap();
        let live = LiveTagger::new(base.clone()).pinned(Some([0; 32]));
        let err = live.reload_from(&path).unwrap_err().to_string();
        assert!(err.contains("is not the pinned"), "{err}");
        use sha2::Digest;
        let pin: [u8; 32] = sha2::Sha256::digest(std::fs::read(&path).unwrap()).into();
        let live = LiveTagger::new(base).pinned(Some(pin));
        assert_eq!(live.reload_from(&path).unwrap().new.version, "next");
    }
}
