//! What a training run did, how long it took and how the model scores on
//! dev.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

pub use super::corpus::CorpusCount;
use super::eval::EvalReport;
use crate::model::calibrate::Calibration;

/// One label's fit.
#[derive(Debug, Clone, Serialize)]
pub struct LabelFit {
    /// Label code.
    pub code: String,
    /// Positive training rows.
    pub positives: usize,
    /// L-BFGS iterations.
    pub iterations: usize,
    /// Whether the tolerance was reached.
    pub converged: bool,
    /// Decision threshold chosen on dev.
    pub threshold: f32,
    /// Weights that survived pruning.
    pub nonzero: usize,
}

/// What a training run did and how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    /// Recipe name and model version.
    pub recipe: String,
    /// Model version.
    pub version: String,
    /// Data folder used.
    pub data_dir: PathBuf,
    /// Training splits.
    pub corpora: Vec<CorpusCount>,
    /// Terms kept.
    pub vocabulary_size: usize,
    /// Columns (terms + place features).
    pub features: usize,
    /// Stored non-zeros of the training matrix.
    pub nnz: usize,
    /// Seconds spent reading and preparing records.
    pub prepare_seconds: f64,
    /// Seconds spent building the vocabulary and matrix.
    pub vectorize_seconds: f64,
    /// Seconds fitting the topic head.
    pub fit_topics_seconds: f64,
    /// Seconds fitting the region head.
    pub fit_regions_seconds: f64,
    /// Whole run.
    pub total_seconds: f64,
    /// Per-label fits: topics then regions.
    pub labels: Vec<LabelFit>,
    /// Topic calibration, when the recipe asks for one.
    pub calibration: Option<CalibrationReport>,
    /// Dev evaluation.
    pub dev: EvalReport,
    /// The refit on train + dev, when the recipe asks for one.
    pub refit: Option<RefitReport>,
}

/// The refit on train + dev that gives the shipped model.
#[derive(Debug, Clone, Serialize)]
pub struct RefitReport {
    /// Training splits of the refit.
    pub corpora: Vec<CorpusCount>,
    /// Seconds the refit took (included in the run's total).
    pub seconds: f64,
}

impl fmt::Display for TrainReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "recipe {} (model {})", self.recipe, self.version)?;
        writeln!(f, "data {}", self.data_dir.display())?;
        self.fmt_corpus(f)?;
        self.fmt_labels(f)?;
        if let Some(c) = &self.calibration {
            c.fmt_calibration(f)?;
        }
        write!(f, "{}", self.dev)?;
        if let Some(r) = &self.refit {
            let docs: usize = r.corpora.iter().map(|c| c.documents).sum();
            writeln!(
                f,
                "refitted on train + dev: {} splits, {docs} documents, {:.1}s; the figures above are the train-only fit's",
                r.corpora.len(),
                r.seconds
            )?;
        }
        Ok(())
    }
}

impl TrainReport {
    fn fmt_corpus(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<24} {:>8} {:>8} {:>8}",
            "split", "docs", "topics", "regions"
        )?;
        for c in &self.corpora {
            writeln!(
                f,
                "{:<24} {:>8} {:>8} {:>8}",
                c.split, c.documents, c.topic_labelled, c.region_labelled
            )?;
        }
        writeln!(
            f,
            "vocabulary {} terms, {} features, {} non-zeros",
            self.vocabulary_size, self.features, self.nnz
        )?;
        writeln!(
            f,
            "time: prepare {:.1}s, vectorize {:.1}s, fit topics {:.1}s, fit regions {:.1}s, total {:.1}s",
            self.prepare_seconds,
            self.vectorize_seconds,
            self.fit_topics_seconds,
            self.fit_regions_seconds,
            self.total_seconds
        )
    }

    fn fmt_labels(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<18} {:>6} {:>6} {:>5} {:>9} {:>8}",
            "label", "pos", "iters", "conv", "threshold", "nonzero"
        )?;
        for l in &self.labels {
            writeln!(
                f,
                "{:<18} {:>6} {:>6} {:>5} {:>9.3} {:>8}",
                l.code, l.positives, l.iterations, l.converged, l.threshold, l.nonzero
            )?;
        }
        Ok(())
    }
}

impl CalibrationReport {
    fn fmt_calibration(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self;
        writeln!(
            f,
            "topic calibration on {} held-out training records ({} of each split{}):",
            c.slice_records,
            c.fraction,
            if c.refit {
                ", head refitted on all"
            } else {
                ""
            }
        )?;
        for (g, k) in [
            ("fr", &c.calibration.fr),
            ("en", &c.calibration.en),
            ("und", &c.calibration.und),
        ] {
            writeln!(
                f,
                "  {g:<4} n {:>5}  softmax t {:.3}  platt a {:.3} b {:.3}",
                k.n, k.t, k.a, k.b
            )?;
        }
        Ok(())
    }
}

/// The calibration fitted on the training slice the head did not see.
#[derive(Debug, Clone, Serialize)]
pub struct CalibrationReport {
    /// Records of the slice used.
    pub slice_records: usize,
    /// Share of each training split held out.
    pub fraction: f64,
    /// Whether the head was refitted on every record afterwards.
    pub refit: bool,
    /// The fitted maps.
    pub calibration: Calibration,
}
