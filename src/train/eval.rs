//! Per-split precision, recall and F1 of a model, as the service would tag.
//!
//! Topics of single-label corpora are scored on the top-1 topic; multi-label
//! fields (regions) on the labels the service returns by default
//! ([`crate::model::select::chosen`]). A field is scored only on records
//! that list it in `labelled`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use rayon::prelude::*;

use super::corpus::brief_text;
use super::data::{Record, read_records, split_name};
use crate::Result;
use crate::model::select::chosen;
use crate::model::{Among, LabelScore, MetricValue, Model, Prediction};
use crate::prepare::prepare;

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
    /// Expected calibration error, 10 equal-width bins: single-label, the
    /// top-1 score against top-1 correctness; multi-label, every (record,
    /// label) score against gold membership.
    pub ece: f64,
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
    /// Baseline with no model: the regions of every place the gazetteer
    /// finds, on the same records as `regions`.
    pub gazetteer_regions: Option<TaskReport>,
    /// Whole stories against their own brief (title and lead), on the
    /// records that are longer than their brief.
    pub short_long: Option<Agreement>,
}

/// How often two versions of the same stories get the same top topic.
#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    /// Story pairs compared.
    pub pairs: usize,
    /// Share of pairs whose top topics are the same.
    pub same_top_topic: f64,
    /// Top-1 accuracy of the short versions on the topic gold (over the
    /// pairs with topic gold).
    pub short_accuracy: f64,
    /// Top-1 accuracy of the long versions on the same records.
    pub long_accuracy: f64,
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
                    ("ece", t.ece),
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
            "{:<22} {:<9} {:>6} {:>8} {:>8} {:>8} {:>7}",
            "split", "task", "n", "accuracy", "macro_f1", "micro_f1", "ece"
        )?;
        for s in &self.splits {
            for t in [&s.topics, &s.regions, &s.gazetteer_regions]
                .into_iter()
                .flatten()
            {
                writeln!(
                    f,
                    "{:<22} {:<9} {:>6} {:>8.4} {:>8.4} {:>8.4} {:>7.4}",
                    s.split, t.task, t.records, t.accuracy, t.macro_f1, t.micro_f1, t.ece
                )?;
            }
        }
        for s in &self.splits {
            if let Some(a) = &s.short_long {
                writeln!(
                    f,
                    "{:<22} briefs against stories: {} pairs, same top topic {:.4}, top-1 accuracy brief {:.4} / story {:.4}",
                    s.split, a.pairs, a.same_top_topic, a.short_accuracy, a.long_accuracy
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

/// Predictions for records, prepared exactly as serving prepares them;
/// topics among `among` ([`Model::predict_among`]).
pub(crate) fn predict_records(
    model: &Model,
    records: &[Record],
    among: Among<'_>,
) -> Vec<Prediction> {
    records
        .par_iter()
        .map(|r| {
            let p = prepare(&r.title, &r.text, r.lang_hint(), model.gazetteer());
            model.predict_among(&p.input(), 0, among)
        })
        .collect()
}

/// Evaluates a model on corpus files, topics chosen among `among` (as a
/// caller's `candidateTopics`; `None` = every topic). A file that is the
/// model's holdout source (e.g. `reuters-en-train`) is scored on its
/// held-out records only, under the holdout's name (`reuters-en-dev`).
pub fn evaluate(model: &Model, files: &[PathBuf], among: Among<'_>) -> Result<EvalReport> {
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
        let preds = predict_records(model, &records, among);
        let mut split = split_report(model, &name, &records, &preds);
        split.short_long = short_long(model, &records, &preds, among);
        if split.regions.is_some() {
            let lookup = gazetteer_predictions(model, &records);
            split.gazetteer_regions = task_report(
                "gazetteer",
                "regions",
                &records,
                lookup.iter().map(|p| &p[..]),
                &BTreeMap::new(),
            );
        }
        report.splits.push(split);
    }
    Ok(report)
}

/// Top topics of each story and of its brief (title and lead, as training
/// makes briefs), compared; `None` when no record is longer than its brief.
fn short_long(
    model: &Model,
    records: &[Record],
    preds: &[Prediction],
    among: Among<'_>,
) -> Option<Agreement> {
    let top = |p: &Prediction| p.topics.first().map(|s| s.code.clone());
    let pairs: Vec<(usize, Option<String>)> = records
        .par_iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let story = prepare(&r.title, &r.text, r.lang_hint(), model.gazetteer());
            let lead = brief_text(&story)?;
            let brief = prepare(&r.title, &lead, r.lang_hint(), model.gazetteer());
            Some((i, top(&model.predict_among(&brief.input(), 0, among))))
        })
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let (mut same, mut gold, mut short_right, mut long_right) = (0, 0, 0, 0);
    for (i, short) in &pairs {
        let long = top(&preds[*i]);
        same += usize::from(*short == long);
        let r = &records[*i];
        if r.is_labelled("topics") {
            gold += 1;
            let right = |t: &Option<String>| t.as_ref().is_some_and(|c| r.topics.contains(c));
            short_right += usize::from(right(short));
            long_right += usize::from(right(&long));
        }
    }
    let share = |k: usize, n: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    Some(Agreement {
        pairs: pairs.len(),
        same_top_topic: share(same, pairs.len()),
        short_accuracy: share(short_right, gold),
        long_accuracy: share(long_right, gold),
    })
}

/// The no-model baseline: every region (sub-region and region) of every
/// country the gazetteer finds in the prepared text, selected with score 1.
fn gazetteer_predictions(model: &Model, records: &[Record]) -> Vec<Vec<LabelScore>> {
    records
        .par_iter()
        .map(|r| {
            let p = prepare(&r.title, &r.text, r.lang_hint(), model.gazetteer());
            let mut codes: BTreeSet<String> = BTreeSet::new();
            for place in &p.places {
                if let Some((sub, region)) = model.gazetteer().regions_of(&place.iso2) {
                    codes.extend([sub.to_string(), region.to_string()]);
                }
            }
            codes
                .into_iter()
                .filter(|c| !c.is_empty())
                .map(|code| LabelScore {
                    name: String::new(),
                    code,
                    score: 1.0,
                    selected: true,
                    voted: false,
                    evidence: Vec::new(),
                })
                .collect()
        })
        .collect()
}

/// Expected calibration error over (score, correct) pairs, `bins` equal-width
/// bins: the support-weighted mean gap between mean score and accuracy.
pub(crate) fn ece(pairs: &[(f32, bool)], bins: usize) -> f64 {
    if pairs.is_empty() {
        return 0.0;
    }
    let mut sums = vec![(0.0f64, 0.0f64); bins];
    for &(score, correct) in pairs {
        let s = f64::from(score).clamp(0.0, 1.0);
        let b = ((s * bins as f64) as usize).min(bins - 1);
        sums[b].0 += s;
        sums[b].1 += f64::from(u8::from(correct));
    }
    // |sum of scores - sum correct| of a bin is its gap times its support.
    sums.iter()
        .map(|&(conf, acc)| (conf - acc).abs())
        .sum::<f64>()
        / pairs.len() as f64
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
            "topics",
            records,
            preds.iter().map(|p| &p.topics[..]),
            &names,
        ),
        regions: task_report(
            "regions",
            "regions",
            records,
            preds.iter().map(|p| &p.regions[..]),
            &names,
        ),
        gazetteer_regions: None,
        short_long: None,
    }
}

/// The labels the service would return with no caller limits: top-1 for
/// single-label scoring, else every chosen label.
fn predicted(scores: &[LabelScore], single: bool) -> BTreeSet<String> {
    let max = if single { 1 } else { usize::MAX };
    chosen(scores, max, None).map(|s| s.code.clone()).collect()
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
    field: &str,
    records: &[Record],
    scores: impl Iterator<Item = &'a [LabelScore]>,
    names: &BTreeMap<&str, &str>,
) -> Option<TaskReport> {
    let pairs: Vec<(BTreeSet<String>, &[LabelScore])> = records
        .iter()
        .zip(scores)
        .filter(|(r, _)| r.is_labelled(field))
        .map(|(r, s)| (r.labels(field).iter().cloned().collect(), s))
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
    let calibration: Vec<(f32, bool)> = if single {
        pairs
            .iter()
            .filter_map(|(gold, scores)| scores.first().map(|s| (s.score, gold.contains(&s.code))))
            .collect()
    } else {
        pairs
            .iter()
            .flat_map(|(gold, scores)| scores.iter().map(|s| (s.score, gold.contains(&s.code))))
            .collect()
    };
    Some(TaskReport {
        task: task.to_string(),
        records: pairs.len(),
        single_label: single,
        accuracy: ratio(exact, pairs.len()),
        macro_f1,
        micro_f1,
        ece: ece(&calibration, 10),
        labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ece_is_the_support_weighted_gap() {
        // Bin 0.9: scores 0.9, 0.9, half right -> gap 0.4 on 2 of 4 pairs;
        // bin 0.2: scores 0.2, 0.2, none right -> gap 0.2 on 2 of 4.
        let pairs = [(0.9, true), (0.9, false), (0.2, false), (0.2, false)];
        assert!((ece(&pairs, 10) - 0.3).abs() < 1e-6);
        assert_eq!(ece(&[(1.0, true), (0.0, false)], 10), 0.0);
        assert_eq!(ece(&[], 10), 0.0);
    }
}
