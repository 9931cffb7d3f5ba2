//! Training recipes (TOML): data, label fields, features and solver settings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::Carve;
use crate::model::features::FeatureParams;
use crate::{Error, Result};

/// A training recipe. Its fields are documented here, `[features]` at
/// [`FeatureParams`] and `[holdout]` at [`Carve`]; `recipes/default.toml`
/// is the recipe of the embedded model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Model version written into the file.
    pub version: String,
    /// Recipe name.
    pub name: String,
    /// Shared data folder, relative to the working directory.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Vectorizer settings.
    pub features: FeatureParams,
    /// Topic head.
    pub topics: HeadRecipe,
    /// Region head.
    pub regions: HeadRecipe,
    /// Dev split carved from a training file.
    pub holdout: Carve,
    /// Weights with a smaller magnitude are stored as 0.
    #[serde(default = "default_prune")]
    pub prune: f32,
    /// Licence in a few words, per source.
    #[serde(default)]
    pub licences: BTreeMap<String, String>,
    /// After measuring on dev, fit the model again on train + dev (every
    /// labelled record) with the same settings. The shipped model keeps the
    /// decision thresholds and dev figures of the measured fit.
    #[serde(default)]
    pub refit_with_dev: bool,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("../shared/data")
}

fn default_prune() -> f32 {
    1e-3
}

/// A finite number above 0 (NaN is not).
fn positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

/// A finite number at least 0 (NaN is not).
fn non_negative(x: f64) -> bool {
    x.is_finite() && x >= 0.0
}

fn yes() -> bool {
    true
}

fn default_threshold() -> f32 {
    0.5
}

/// A keyword rule that adds a topic to the labelled training stories that
/// use at least `min_terms` distinct keywords of their language (a final
/// "s" or "x" ignored) and none of its `unless` words, in place of the
/// topics it `replaces`. Unless `negatives` is false, a source with such
/// stories then also trains the topic's negatives: its stories without the
/// keywords.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeywordLabel {
    /// Topic code ("medtop:09000000").
    pub label: String,
    /// Distinct keywords a story needs.
    pub min_terms: usize,
    /// Keywords per language ("en", "fr"), lowercased words.
    pub keywords: BTreeMap<String, Vec<String>>,
    /// Topics the rule's topic takes the place of on the stories it labels:
    /// a corpus without labour files its strikes under economy, and left
    /// there they teach economy that a strike is economy.
    #[serde(default)]
    pub replaces: Vec<String>,
    /// Whether the sources of the stories the rule labels then train the
    /// topic's negatives with their other stories (else those stay light
    /// negatives, `foreign_negatives`). A rule that finds few of a source's
    /// stories about the topic (a storm story needs two weather words) would
    /// otherwise teach the topic that the rest are not about it.
    #[serde(default = "yes")]
    pub negatives: bool,
    /// Words per language that keep a story from the rule: a fait-divers
    /// story with a fire and firefighters is an accident unless it names a
    /// suspect or an investigation.
    #[serde(default)]
    pub unless: BTreeMap<String, Vec<String>>,
}

/// One head (topics or regions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadRecipe {
    /// Label field of the records ("topics" or "regions").
    pub field: String,
    /// Training splits (file stems under `corpora/`; the holdout's file is
    /// used minus the holdout).
    pub train: Vec<String>,
    /// Dev splits, used to tune thresholds and report metrics.
    pub dev: Vec<String>,
    /// Sources whose gold is positive-only: their records train only the
    /// labels they list (as positives) and never serve as negatives.
    #[serde(default)]
    pub positive_only: Vec<String>,
    /// A record is a negative for a label only if its source has positives
    /// of that label in training: a corpus whose taxonomy has no "sport"
    /// (OrangeSum) cannot say "not sport", its sport stories sit under
    /// another heading.
    #[serde(default)]
    pub negatives_from_own_labels: bool,
    /// With `negatives_from_own_labels`, the weight (relative to its own)
    /// at which a record still counts as a negative for a label its source
    /// never uses: most of such a source's stories are not about the label,
    /// and without them the label never sees that kind of text as a
    /// negative (0 = not at all).
    #[serde(default)]
    pub foreign_negatives: f64,
    /// Sources whose gold names only some countries (OrangeSum `france`:
    /// FR only): a record of theirs trains this head only if every country
    /// the gazetteer finds in it is in its gold.
    #[serde(default)]
    pub require_places_in_gold: Vec<String>,
    /// Sources whose records train this head on their place features only
    /// (their words are hidden): OrangeSum's region gold is always France,
    /// so its French words would otherwise learn "French text -> Europe".
    #[serde(default)]
    pub places_only: Vec<String>,
    /// Whether this head sees the place features (else words only).
    #[serde(default = "yes")]
    pub use_places: bool,
    /// Each labelled training record also trains as its brief (the title
    /// and the lead sentences of its body, [`crate::text::lead`]) with this
    /// weight relative to the record; 0 adds none.
    #[serde(default)]
    pub briefs: f64,
    /// Silver labels from keyword rules, for topics no corpus labels: see
    /// [`KeywordLabel`].
    #[serde(default)]
    pub keyword_labels: Vec<KeywordLabel>,
    /// Inverse regularisation strength (scikit-learn's C).
    pub c: f64,
    /// Corpus balancing exponent: weight of a record of a corpus with `n`
    /// labelled records is `(mean n / n)^balance` (0 = none, 1 = equal mass).
    #[serde(default)]
    pub balance: f64,
    /// Label balancing exponent: a label's positives weigh
    /// `(negatives / positives)^positive_balance` (0 = none; 1 = like
    /// scikit-learn's `class_weight="balanced"` up to a factor).
    #[serde(default)]
    pub positive_balance: f64,
    /// Extra weight multipliers per source.
    #[serde(default)]
    pub source_weights: BTreeMap<String, f64>,
    /// Most L-BFGS iterations per label.
    pub max_iter: usize,
    /// Relative gradient tolerance.
    pub tol: f64,
    /// Threshold of a label with no dev positives.
    #[serde(default = "default_threshold")]
    pub default_threshold: f32,
    /// Pseudo-count of the prior `default_threshold` when tuning: the
    /// threshold is `(p * tuned + k * default) / (p + k)` for a label with
    /// `p` dev positives, so a label tuned on 15 documents moves less than
    /// one tuned on 500 (0 = use the tuned value as is).
    #[serde(default)]
    pub threshold_prior: f64,
    /// Labels with fewer dev positives keep `default_threshold`: a
    /// threshold tuned on one or two documents is noise.
    #[serde(default = "default_min_dev_positives")]
    pub min_dev_positives: usize,
    /// Probability calibration fitted on a slice of the training splits
    /// (never on dev); none when absent.
    #[serde(default)]
    pub calibration: Option<CalibrationRecipe>,
}

/// How a head's probabilities are calibrated: a slice of every training
/// split is held out (same hash rule as [`Carve`], its own seed), the head
/// is fitted on the rest, the calibration is fitted on the slice's scores,
/// and the head is refitted on everything (unless `refit` is false).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationRecipe {
    /// Share of each training split held out, in (0, 1).
    pub fraction: f64,
    /// Seed mixed into the hash.
    pub seed: u64,
    /// Refit the head on all training rows after calibrating.
    #[serde(default = "yes")]
    pub refit: bool,
    /// How much of the training corpora's label mix is taken out of the
    /// scores, in [0, 2]: each label's logit gets `-prior_correction * ln
    /// pi`, `pi` the label's mean softmax share over the language group's
    /// slice records, before the temperature and Platt maps are fitted.
    /// 0 keeps the mix the corpora taught; 1 scores as if every label were
    /// equally common.
    #[serde(default)]
    pub prior_correction: f64,
}

impl CalibrationRecipe {
    /// Whether the record with this id is in the calibration slice.
    pub fn held_out(&self, id: &str) -> bool {
        Carve {
            file: String::new(),
            dev_name: String::new(),
            fraction: self.fraction,
            seed: self.seed,
        }
        .held_out(id)
    }
}

fn default_min_dev_positives() -> usize {
    5
}

impl Recipe {
    /// Reads and checks a recipe file.
    pub fn load(path: &Path) -> Result<Recipe> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let recipe: Recipe = toml::from_str(&text)
            .map_err(|e| Error::data(path, e.to_string().replace('\n', " ")))?;
        recipe.check().map_err(|r| Error::data(path, r))?;
        Ok(recipe)
    }

    /// Checks what serde cannot.
    pub fn check(&self) -> std::result::Result<(), String> {
        self.features.check()?;
        for (head, field) in [(&self.topics, "topics"), (&self.regions, "regions")] {
            if head.field != field {
                return Err(format!(
                    "[{field}] field is {:?}; use {field:?}",
                    head.field
                ));
            }
            if head.train.is_empty() {
                return Err(format!("[{field}] train is empty"));
            }
            let has = |p: &str| head.train.iter().any(|t| t.starts_with(p));
            if has("bbc-") && has("bbcsum-") {
                return Err(format!(
                    "[{field}] trains on bbc and bbcsum: they are the same documents"
                ));
            }
            if !positive(head.c) {
                return Err(format!("[{field}] C must be positive"));
            }
            if head.max_iter == 0 || !positive(head.tol) {
                return Err(format!("[{field}] max_iter and tol must be positive"));
            }
            if !non_negative(head.balance)
                || !non_negative(head.positive_balance)
                || !non_negative(head.threshold_prior)
            {
                return Err(format!("[{field}] balance must be >= 0"));
            }
            if !non_negative(head.briefs) {
                return Err(format!(
                    "[{field}] briefs is {}; use a weight >= 0",
                    head.briefs
                ));
            }
        }
        if let Some(c) = &self.topics.calibration
            && !(0.0..=2.0).contains(&c.prior_correction)
        {
            return Err(format!(
                "[topics.calibration] prior_correction is {}; use 0 to 2",
                c.prior_correction
            ));
        }
        if self.regions.briefs != 0.0 {
            return Err("[regions] briefs: only the topic head trains on briefs".into());
        }
        if !positive(self.holdout.fraction) || self.holdout.fraction >= 1.0 {
            return Err(format!("holdout fraction is {}", self.holdout.fraction));
        }
        if !non_negative(f64::from(self.prune)) {
            return Err(format!("prune is {}", self.prune));
        }
        Ok(())
    }

    /// The recipe of the refit on train + dev: each head's dev splits join
    /// its training splits (the holdout with its file gives the whole file).
    /// It keeps the topic calibration slice: the refitted head is more
    /// confident than the measured one, so its maps are fitted again on a
    /// slice of train + dev held out of its own slice fit.
    pub(crate) fn with_dev_in_train(&self) -> Recipe {
        let mut r = self.clone();
        for head in [&mut r.topics, &mut r.regions] {
            for split in std::mem::take(&mut head.dev) {
                if !head.train.contains(&split) {
                    head.train.push(split);
                }
            }
        }
        r.refit_with_dev = false;
        r
    }

    /// Path of a split's file under `data`.
    pub fn split_path(&self, data: &Path, split: &str) -> PathBuf {
        let file = if split == self.holdout.dev_name {
            &self.holdout.file
        } else {
            split
        };
        data.join("corpora").join(format!("{file}.jsonl.gz"))
    }
}

/// A topic head recipe training on `train`, small enough for unit tests,
/// with the TOML `extra` appended (more fields, keyword rules).
#[cfg(test)]
pub(crate) fn test_head(train: &str, extra: &str) -> HeadRecipe {
    toml::from_str(&format!(
        "field = \"topics\"\ntrain = [\"{train}\"]\ndev = []\nc = 1.0\nmax_iter = 10\ntol = 1e-4\n{extra}"
    ))
    .expect("a test head recipe")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_recipe_parses_and_checks() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes/default.toml");
        let r = Recipe::load(&path).unwrap();
        assert_eq!(r.topics.field, "topics");
        assert!(!r.topics.train.iter().any(|t| t.starts_with("bbcsum")));
    }

    #[test]
    fn bbc_with_bbcsum_is_refused() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes/default.toml");
        let mut r = Recipe::load(&path).unwrap();
        r.topics.train.push("bbcsum-en-train".into());
        assert!(r.check().unwrap_err().contains("bbcsum"));
    }

    #[test]
    fn retired_switches_are_refused() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes/default.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        for (after, key) in [
            ("[topics.calibration]", "desk_prior = true"),
            ("[topics.calibration]", "desk_maps = \"slice\""),
            ("[topics.calibration]", "desk_platt = 1.0"),
            ("[topics.calibration]", "label_shift = 1.0"),
            (
                "[topics]",
                "desks = { c = 10.0, max_iter = 200, tol = 1e-4 }",
            ),
            ("[topics]", "c_per_label = { \"medtop:04000000\" = 2.0 }"),
        ] {
            let old = text.replacen(after, &format!("{after}\n{key}"), 1);
            let err = toml::from_str::<Recipe>(&old).unwrap_err().to_string();
            assert!(err.contains("unknown field"), "{key}: {err}");
        }
    }

    #[test]
    fn prior_correction_is_bounded() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes/default.toml");
        let mut r = Recipe::load(&path).unwrap();
        for bad in [-0.5, 2.5, f64::NAN] {
            if let Some(c) = &mut r.topics.calibration {
                c.prior_correction = bad;
            }
            assert!(r.check().unwrap_err().contains("prior_correction"), "{bad}");
        }
    }

    #[test]
    fn briefs_are_a_topic_weight() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes/default.toml");
        let mut r = Recipe::load(&path).unwrap();
        r.topics.briefs = -1.0;
        assert!(r.check().unwrap_err().contains("briefs"));
        r.topics.briefs = f64::NAN;
        assert!(r.check().unwrap_err().contains("briefs"));
        r.topics.briefs = 0.0;
        r.regions.briefs = 0.5;
        assert!(r.check().unwrap_err().contains("topic head"));
    }
}
