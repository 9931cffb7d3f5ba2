//! Per-split precision, recall and F1 of a model, as the service would tag.
//!
//! Topics of single-label corpora are scored on the top-1 topic; multi-label
//! fields (regions) on the labels the service returns: those over their
//! threshold, or the best one when none is. A field is scored only on records
//! that list it in `labelled`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::data::{Record, read_records, split_name};
use super::train::predict_records;
use super::{LabelScore, MetricValue, Model, Prediction};
use crate::Result;

/// One label's figures.
#[derive(Debug, Clone, Serialize)]
pub struct LabelMetrics {
    /// Code.
    pub code: String,
    /// English name.
    pub name: String,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// Gold occurrences.
    pub support: usize,
    /// Predicted occurrences.
    pub predicted: usize,
}

/// Figures of one field on one split.
#[derive(Debug, Clone, Serialize)]
pub struct TaskReport {
    /// "topics" or "regions".
    pub task: String,
    /// Records scored.
    pub records: usize,
    /// Single-label (top-1) or multi-label scoring.
    pub single_label: bool,
    /// Top-1 accuracy (single-label) or exact-set accuracy (multi-label).
    pub accuracy: f64,
    /// Mean F1 over the labels present in the gold.
    pub macro_f1: f64,
    /// F1 of all decisions pooled.
    pub micro_f1: f64,
    /// Per label (gold or predicted), by code.
    pub labels: Vec<LabelMetrics>,
}

/// Figures of one split.
#[derive(Debug, Clone, Serialize)]
pub struct SplitReport {
    /// Split name ("bbc-en-dev").
    pub split: String,
    /// Records read.
    pub records: usize,
    /// Topic figures, if any record has topic gold.
    pub topics: Option<TaskReport>,
    /// Region figures, if any record has region gold.
    pub regions: Option<TaskReport>,
}

/// An evaluation over several splits.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Model version.
    pub model_version: String,
    /// Per split.
    pub splits: Vec<SplitReport>,
}

impl EvalReport {
    /// Summary figures as stored in the model header.
    pub fn metrics(&self) -> Vec<MetricValue> {
        let mut out = Vec::new();
        for s in &self.splits {
            for t in [&s.topics, &s.regions].into_iter().flatten() {
                for (name, value) in [
                    ("accuracy", t.accuracy),
                    ("macro_f1", t.macro_f1),
                    ("micro_f1", t.micro_f1),
                ] {
                    out.push(MetricValue {
                        split: s.split.clone(),
                        task: t.task.clone(),
                        name: name.into(),
                        value,
                    });
                }
            }
        }
        out
    }
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<22} {:<8} {:>6} {:>8} {:>8} {:>8}",
            "split", "task", "n", "accuracy", "macro_f1", "micro_f1"
        )?;
        for s in &self.splits {
            for t in [&s.topics, &s.regions].into_iter().flatten() {
                writeln!(
                    f,
                    "{:<22} {:<8} {:>6} {:>8.4} {:>8.4} {:>8.4}",
                    s.split, t.task, t.records, t.accuracy, t.macro_f1, t.micro_f1
                )?;
            }
        }
        for s in &self.splits {
            for t in [&s.topics, &s.regions].into_iter().flatten() {
                writeln!(f, "\n{} {}", s.split, t.task)?;
                writeln!(
                    f,
                    "  {:<16} {:<40} {:>6} {:>6} {:>6} {:>7} {:>7}",
                    "label", "name", "P", "R", "F1", "support", "pred"
                )?;
                for l in &t.labels {
                    writeln!(
                        f,
                        "  {:<16} {:<40} {:>6.3} {:>6.3} {:>6.3} {:>7} {:>7}",
                        l.code, l.name, l.precision, l.recall, l.f1, l.support, l.predicted
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// Evaluates a model on corpus files. A file that is the model's holdout
/// source (e.g. `reuters-en-train`) is scored on its held-out records only,
/// under the holdout's name (`reuters-en-dev`).
pub fn evaluate(model: &Model, files: &[PathBuf]) -> Result<EvalReport> {
    let mut report = EvalReport {
        model_version: model.meta().version.clone(),
        splits: Vec::new(),
    };
    for path in files {
        let mut name = split_name(path);
        let mut records = read_records(path)?;
        if let Some(carve) = &model.meta().holdout
            && carve.file == name
        {
            records.retain(|r| carve.held_out(&r.id));
            name = carve.dev_name.clone();
        }
        let preds = predict_records(model, &records);
        report
            .splits
            .push(split_report(model, &name, &records, &preds));
    }
    Ok(report)
}

/// Recomputes `selected` from the model's current thresholds.
pub(crate) fn reselect(model: &Model, preds: &mut [Prediction]) {
    let (tt, rt) = model.thresholds();
    let heads = [(&model.meta().topics, tt), (&model.meta().regions, rt)];
    for p in preds {
        for (scores, (labels, th)) in [&mut p.topics, &mut p.regions].into_iter().zip(heads) {
            for s in scores.iter_mut() {
                if let Some(k) = labels.iter().position(|l| l.code == s.code) {
                    s.selected = s.score >= th.get(k).copied().unwrap_or(0.5);
                }
            }
        }
    }
}

/// Figures of one split from records and their predictions.
pub fn split_report(
    model: &Model,
    split: &str,
    records: &[Record],
    preds: &[Prediction],
) -> SplitReport {
    let names: BTreeMap<&str, &str> = model
        .meta()
        .topics
        .iter()
        .chain(&model.meta().regions)
        .map(|l| (l.code.as_str(), l.name.as_str()))
        .collect();
    SplitReport {
        split: split.to_string(),
        records: records.len(),
        topics: task_report(
            "topics",
            records,
            preds.iter().map(|p| &p.topics[..]),
            &names,
        ),
        regions: task_report(
            "regions",
            records,
            preds.iter().map(|p| &p.regions[..]),
            &names,
        ),
    }
}

/// The labels the service would return: top-1 for single-label scoring,
/// else those selected, or the best when none is.
fn predicted(scores: &[LabelScore], single: bool) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = if single {
        BTreeSet::new()
    } else {
        scores
            .iter()
            .filter(|s| s.selected)
            .map(|s| s.code.clone())
            .collect()
    };
    if out.is_empty()
        && let Some(best) = scores.first()
    {
        out.insert(best.code.clone());
    }
    out
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn task_report<'a>(
    task: &str,
    records: &[Record],
    scores: impl Iterator<Item = &'a [LabelScore]>,
    names: &BTreeMap<&str, &str>,
) -> Option<TaskReport> {
    let pairs: Vec<(BTreeSet<String>, &[LabelScore])> = records
        .iter()
        .zip(scores)
        .filter(|(r, _)| r.is_labelled(task))
        .map(|(r, s)| (r.labels(task).iter().cloned().collect(), s))
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let single = pairs.iter().all(|(g, _)| g.len() <= 1);
    // code -> (tp, fp, fn)
    let mut counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut exact = 0;
    for (gold, scores) in &pairs {
        let pred = predicted(scores, single);
        if &pred == gold {
            exact += 1;
        }
        for c in gold.union(&pred) {
            let e = counts.entry(c.clone()).or_insert((0, 0, 0));
            match (gold.contains(c), pred.contains(c)) {
                (true, true) => e.0 += 1,
                (false, true) => e.1 += 1,
                (true, false) => e.2 += 1,
                (false, false) => {}
            }
        }
    }
    let labels: Vec<LabelMetrics> = counts
        .iter()
        .map(|(code, &(tp, fp, fnn))| {
            let precision = ratio(tp, tp + fp);
            let recall = ratio(tp, tp + fnn);
            LabelMetrics {
                code: code.clone(),
                name: names.get(code.as_str()).unwrap_or(&"").to_string(),
                precision,
                recall,
                f1: f1(precision, recall),
                support: tp + fnn,
                predicted: tp + fp,
            }
        })
        .collect();
    let gold_labels: Vec<&LabelMetrics> = labels.iter().filter(|l| l.support > 0).collect();
    let macro_f1 = gold_labels.iter().map(|l| l.f1).sum::<f64>() / gold_labels.len().max(1) as f64;
    let (tp, fp, fnn) = counts
        .values()
        .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
    let micro_f1 = f1(ratio(tp, tp + fp), ratio(tp, tp + fnn));
    Some(TaskReport {
        task: task.to_string(),
        records: pairs.len(),
        single_label: single,
        accuracy: ratio(exact, pairs.len()),
        macro_f1,
        micro_f1,
        labels,
    })
}
