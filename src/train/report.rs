//! What a training run did, how long it took and how the model scores on
//! dev.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

pub use super::corpus::CorpusCount;
use super::eval::EvalReport;
use crate::model::calibrate::{Calibration, GroupCalibration};

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
        let groups = [&c.calibration.fr, &c.calibration.en, &c.calibration.und];
        if groups.iter().all(|g| g.offsets.is_empty()) {
            return Ok(());
        }
        writeln!(
            f,
            "  label-mix offsets (added to the logits):\n  {:<18} {:>7} {:>7} {:>7}",
            "label", "fr", "en", "und"
        )?;
        let offset = |g: &GroupCalibration, k: usize| g.offsets.get(k).copied().unwrap_or(0.0);
        for (k, code) in c.labels.iter().enumerate() {
            writeln!(
                f,
                "  {code:<18} {:>+7.3} {:>+7.3} {:>+7.3}",
                offset(groups[0], k),
                offset(groups[1], k),
                offset(groups[2], k)
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
    /// The head's label codes, in the order of the offsets.
    pub labels: Vec<String>,
    /// The fitted maps.
    pub calibration: Calibration,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(offsets: Vec<f32>) -> GroupCalibration {
        GroupCalibration {
            offsets,
            t: 1.5,
            a: 1.0,
            b: 0.0,
            n: 10,
        }
    }

    fn report(fr: Vec<f32>, en: Vec<f32>, und: Vec<f32>) -> String {
        let c = CalibrationReport {
            slice_records: 30,
            fraction: 0.2,
            refit: true,
            labels: vec!["medtop:04000000".into(), "medtop:09000000".into()],
            calibration: Calibration {
                fr: group(fr),
                en: group(en),
                und: group(und),
            },
        };
        struct Show<'a>(&'a CalibrationReport);
        impl fmt::Display for Show<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt_calibration(f)
            }
        }
        Show(&c).to_string()
    }

    #[test]
    fn the_calibration_section_lists_each_labels_offsets_per_language() {
        let text = report(vec![-0.5, 0.5], vec![-0.25, 0.25], vec![-0.4, 0.4]);
        let economy = text
            .lines()
            .find(|l| l.trim_start().starts_with("medtop:04000000"))
            .expect("a line for economy");
        let cols: Vec<&str> = economy.split_whitespace().collect();
        assert_eq!(cols, ["medtop:04000000", "-0.500", "-0.250", "-0.400"]);
        assert!(text.contains("medtop:09000000     +0.500  +0.250  +0.400"));
    }

    #[test]
    fn no_offsets_no_offset_table() {
        let text = report(vec![], vec![], vec![]);
        assert!(text.contains("softmax t 1.500"));
        assert!(!text.contains("offsets"), "{text}");
    }
}
