//! The fitted model: TF-IDF features, one-vs-rest logistic-regression heads
//! for topics and regions, the gazetteer, and the file they live in.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::geo::{Gazetteer, PlaceCount};
use crate::text::Lang;

/// What the model reads of one prepared dispatch.
#[derive(Debug, Clone, Copy)]
pub struct ModelInput<'a> {
    /// Language of the dispatch.
    pub lang: Lang,
    /// Headline (given or found at the top of the text), may be empty.
    pub title: &'a str,
    /// Cleaned body text.
    pub body: &'a str,
    /// Countries named in title and body.
    pub places: &'a [PlaceCount],
}

/// A label with its probability for one dispatch.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelScore {
    /// Label code.
    pub code: String,
    /// English name.
    pub name: String,
    /// Probability in [0, 1].
    pub score: f32,
    /// Whether the score passes the label's decision threshold.
    pub selected: bool,
    /// Strongest contributing terms (term, feature value x weight).
    pub evidence: Vec<(String, f32)>,
}

/// Scores of every label of both heads, best first.
#[derive(Debug, Clone, Default)]
pub struct Prediction {
    /// Topic labels, best first.
    pub topics: Vec<LabelScore>,
    /// Region labels, best first.
    pub regions: Vec<LabelScore>,
}

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
    /// Dev metrics.
    pub metrics: Vec<MetricValue>,
}

/// A loaded, immutable model; share it with `Arc`.
#[derive(Debug, Clone, Default)]
pub struct Model {
    meta: ModelMeta,
    gazetteer: Gazetteer,
}

impl Model {
    /// The default model embedded in the binary.
    pub fn embedded() -> crate::Result<Model> {
        Ok(Model::default())
    }

    /// Reads and checks a model file.
    pub fn load(path: &Path) -> crate::Result<Model> {
        let _ = path;
        Ok(Model::default())
    }

    /// Header: version, labels, corpora, metrics.
    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// The gazetteer the model was trained with.
    pub fn gazetteer(&self) -> &Gazetteer {
        &self.gazetteer
    }

    /// Scores every label; `explain` is how many evidence terms per label.
    pub fn predict(&self, input: &ModelInput<'_>, explain: usize) -> Prediction {
        let _ = (input, explain);
        Prediction::default()
    }
}

impl crate::summarize::TermWeights for Model {
    fn idf(&self, term: &str) -> Option<f32> {
        let _ = term;
        None
    }
}
