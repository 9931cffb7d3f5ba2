//! What a model file says about itself: labels, corpora, dev figures, and
//! the holdout carved from a training file.

use serde::{Deserialize, Serialize};

/// A label of the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// Code.
    pub code: String,
    /// English name.
    pub name: String,
}

/// A training corpus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpusInfo {
    /// File stem ("bbc-en-train").
    pub name: String,
    /// Documents used.
    pub documents: u64,
    /// Licence in a few words.
    pub licence: String,
}

/// What a topic was learned from in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSource {
    /// Label code ("medtop:09000000").
    pub code: String,
    /// "fr" or "en".
    pub language: String,
    /// Labelled news records with this label (briefs not counted).
    pub labelled: u64,
    /// News records a keyword rule gave this label (silver).
    pub keyword: u64,
    /// IPTC vocabulary entries (concept names and definitions) under it.
    pub vocabulary: u64,
    /// Corpora the labelled records come from ("bbc", "wikinews").
    pub corpora: Vec<String>,
}

/// One dev figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    /// Dev split ("bbc-en-dev").
    pub split: String,
    /// "topics" or "regions".
    pub task: String,
    /// "accuracy", "macro_f1", "micro_f1".
    pub name: String,
    /// Value in [0, 1].
    pub value: f64,
}

/// The model file's header.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// File format version.
    pub format_version: u32,
    /// Model version from the recipe.
    pub version: String,
    /// Recipe name.
    pub recipe: String,
    /// Topic labels.
    pub topics: Vec<Label>,
    /// Region labels.
    pub regions: Vec<Label>,
    /// Number of terms.
    pub vocabulary_size: u64,
    /// Training corpora.
    pub corpora: Vec<CorpusInfo>,
    /// Per topic and language, what the topic head learned it from.
    pub topic_sources: Vec<LabelSource>,
    /// Dev metrics.
    pub metrics: Vec<MetricValue>,
    /// The dev split carved from a training file, so that `evaluate` on
    /// that file scores only the held-out records.
    pub holdout: Option<Carve>,
}

/// FNV-1a 64 over `bytes`, continuing from `h`; stable across platforms and
/// runs, unlike `std`'s randomly keyed hasher.
pub(crate) fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// FNV-1a 64 offset basis.
pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// A deterministic holdout carved from a training file (Reuters has no dev
/// split). A record is held out when `fnv1a64("<seed>:<id>") % 1_000_000`
/// is below `fraction * 1_000_000`; bench/peer_sklearn.py uses the same rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Carve {
    /// Split name of the file carved ("reuters-en-train").
    pub file: String,
    /// Name given to the holdout ("reuters-en-dev").
    pub dev_name: String,
    /// Share held out, in (0, 1).
    pub fraction: f64,
    /// Seed mixed into the hash.
    pub seed: u64,
}

impl Carve {
    /// Whether the record with this id is in the holdout.
    pub fn held_out(&self, id: &str) -> bool {
        let h = fnv1a(FNV_OFFSET, format!("{}:{id}", self.seed).as_bytes());
        ((h % 1_000_000) as f64) < self.fraction * 1_000_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carve_is_stable_and_near_its_fraction() {
        let carve = Carve {
            file: "r".into(),
            dev_name: "d".into(),
            fraction: 0.1,
            seed: 7,
        };
        let n = (0..10_000)
            .filter(|i| carve.held_out(&format!("reuters:{i}")))
            .count();
        assert!((800..1200).contains(&n), "{n}");
        assert_eq!(carve.held_out("reuters:1"), carve.held_out("reuters:1"));
    }
}
