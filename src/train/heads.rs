//! Fitting one head: its labels, the weight of each training row, the
//! design matrix, one binary task per label, and the fitted, quantised
//! head.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use ndarray::Array1;

use super::corpus::{Corpus, select_rows};
use super::data::Record;
use super::recipe::HeadRecipe;
use super::report::LabelFit;
use super::solver::{BinaryTask, LogisticParams, fit_one_vs_rest};
use super::vocab::Features;
use crate::model::file::quantize;
use crate::model::{Head, Label};
use crate::{Error, Result};

/// A fitted head with its per-label report and fitting time.
pub(crate) struct HeadFit {
    pub(crate) head: Head,
    pub(crate) fits: Vec<LabelFit>,
    pub(crate) seconds: f64,
}

/// The rows one head trains on and how they are laid out.
struct Rows<'a> {
    corpus: &'a Corpus,
    /// Corpus record indices.
    rows: Vec<usize>,
    /// Rows per training split, in split order.
    per_split: BTreeMap<usize, usize>,
}

/// Fits one head on the labelled rows of its training splits, leaving out
/// the records `exclude` names; `label_names` gives each code its name.
pub(crate) fn fit_head(
    name: &str,
    hr: &HeadRecipe,
    corpus: &Corpus,
    label_names: &BTreeMap<String, String>,
    prune: f32,
    exclude: &dyn Fn(&Record) -> bool,
) -> Result<HeadFit> {
    let t0 = Instant::now();
    let rows = corpus.rows(hr, exclude);
    if rows.is_empty() {
        return Err(Error::Training(format!(
            "{name}: no labelled training records"
        )));
    }
    let mut per_split: BTreeMap<usize, usize> = BTreeMap::new();
    for &i in &rows {
        *per_split.entry(corpus.split_of[i]).or_insert(0) += 1;
    }
    let rows = Rows {
        corpus,
        rows,
        per_split,
    };
    let labels = labels_of(hr, &rows, label_names);
    let x = design(hr, &rows);
    let tasks = label_tasks(hr, &rows, &labels);
    let positives: Vec<usize> = tasks
        .iter()
        .map(|t| t.targets.iter().filter(|&&p| p).count())
        .collect();
    tracing::info!(
        head = name,
        rows = rows.rows.len(),
        labels = labels.len(),
        nnz = x.nnz(),
        "fitting"
    );
    let params = LogisticParams::new().max_iter(hr.max_iter).tol(hr.tol);
    let fitted =
        fit_one_vs_rest(&x, tasks, &params).map_err(|e| Error::Training(format!("{name}: {e}")))?;
    let (mut weights, mut bias, mut fits) = (Vec::new(), Vec::new(), Vec::new());
    for ((l, mut m), pos) in labels.iter().zip(fitted).zip(positives) {
        quantize(&mut m.weights, prune);
        let nonzero = m.weights.iter().filter(|w| **w != 0.0).count();
        tracing::info!(head = name, label = %l.code, iterations = m.iterations, converged = m.converged, nonzero, "label fitted");
        fits.push(LabelFit {
            code: l.code.clone(),
            positives: pos,
            iterations: m.iterations,
            converged: m.converged,
            threshold: hr.default_threshold,
            nonzero,
        });
        weights.push(m.weights);
        bias.push(m.intercept);
    }
    let thresholds = vec![hr.default_threshold; labels.len()];
    Ok(HeadFit {
        head: Head::new(labels, weights, bias, thresholds),
        fits,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// The head's labels: every code its rows carry, in code order.
fn labels_of(hr: &HeadRecipe, rows: &Rows<'_>, names: &BTreeMap<String, String>) -> Vec<Label> {
    let records = &rows.corpus.records;
    let codes: BTreeSet<&str> = rows
        .rows
        .iter()
        .flat_map(|&i| records[i].labels(&hr.field).iter().map(String::as_str))
        .collect();
    codes
        .iter()
        .map(|c| Label {
            code: c.to_string(),
            name: names.get(*c).cloned().unwrap_or_else(|| c.to_string()),
        })
        .collect()
}

/// The design matrix: the head's rows, place-only sources masked to their
/// place columns.
fn design(hr: &HeadRecipe, rows: &Rows<'_>) -> Features {
    let corpus = rows.corpus;
    let masked: Vec<bool> = rows
        .rows
        .iter()
        .map(|&i| hr.places_only.contains(&corpus.records[i].source))
        .collect();
    select_rows(
        &corpus.x_all,
        &rows.rows,
        &masked,
        corpus.first_place,
        hr.use_places,
    )
}

/// Each row's weight before the per-label rules: corpus balance,
/// `(mean corpus size / corpus size)^balance`, times the source's and the
/// brief's multipliers, normalised to mean 1 so that C keeps its meaning.
fn row_weights(hr: &HeadRecipe, rows: &Rows<'_>) -> Vec<f64> {
    let records = &rows.corpus.records;
    let mean = rows.rows.len() as f64 / rows.per_split.len() as f64;
    let mut base: Vec<f64> = rows
        .rows
        .iter()
        .map(|&i| {
            let n = rows.per_split[&rows.corpus.split_of[i]] as f64;
            let src = hr
                .source_weights
                .get(&records[i].source)
                .copied()
                .unwrap_or(1.0);
            let brief = if records[i].brief { hr.briefs } else { 1.0 };
            (mean / n).powf(hr.balance) * src * brief
        })
        .collect();
    let total: f64 = base.iter().sum();
    for b in &mut base {
        *b *= rows.rows.len() as f64 / total;
    }
    base
}

/// One binary task per label: its targets, and the row weights with the
/// negatives the recipe does not trust set to 0 (a positive-only source's,
/// and with `negatives_from_own_labels` a source's for a label it never
/// uses, which keep `foreign_negatives` of their weight), positives scaled
/// up by `positive_balance`.
fn label_tasks(hr: &HeadRecipe, rows: &Rows<'_>, labels: &[Label]) -> Vec<BinaryTask> {
    let records = &rows.corpus.records;
    let field = hr.field.as_str();
    let base = row_weights(hr, rows);
    let source_labels = source_labels(hr, records, &rows.rows);
    labels
        .iter()
        .map(|l| {
            let targets: Array1<bool> = rows
                .rows
                .iter()
                .map(|&i| records[i].labels(field).contains(&l.code))
                .collect();
            let mut weights: Array1<f32> = rows
                .rows
                .iter()
                .zip(&base)
                .zip(targets.iter())
                .map(|((&i, &b), &pos)| {
                    let src = records[i].source.as_str();
                    if pos {
                        b as f32
                    } else if hr.positive_only.contains(&records[i].source) {
                        0.0
                    } else if hr.negatives_from_own_labels
                        && !source_labels.contains(&(src, l.code.as_str()))
                    {
                        (b * hr.foreign_negatives) as f32
                    } else {
                        b as f32
                    }
                })
                .collect();
            if hr.positive_balance > 0.0 {
                balance_positives(&mut weights, &targets, hr.positive_balance);
            }
            BinaryTask {
                targets,
                weights,
                c: hr.c,
            }
        })
        .collect()
}

/// The (source, label) pairs of which the records `rows` hold positives:
/// the labels each source uses. A keyword rule's labels count only if the
/// rule's sources train its negatives (`negatives`).
fn source_labels<'r>(
    hr: &HeadRecipe,
    records: &'r [Record],
    rows: &[usize],
) -> BTreeSet<(&'r str, &'r str)> {
    let quiet: BTreeSet<&str> = hr
        .keyword_labels
        .iter()
        .filter(|k| !k.negatives)
        .map(|k| k.label.as_str())
        .collect();
    let mut pairs = BTreeSet::new();
    for &i in rows {
        let r = &records[i];
        for l in r.labels(&hr.field) {
            if !(quiet.contains(l.as_str()) && r.silver.contains(l)) {
                pairs.insert((r.source.as_str(), l.as_str()));
            }
        }
    }
    pairs
}

/// Scales the positives' weights by `(negative mass / positive mass)^power`.
fn balance_positives(weights: &mut Array1<f32>, targets: &Array1<bool>, power: f64) {
    let (mut pos_w, mut neg_w) = (0.0f64, 0.0f64);
    for (&w, &t) in weights.iter().zip(targets.iter()) {
        if t {
            pos_w += f64::from(w);
        } else {
            neg_w += f64::from(w);
        }
    }
    if pos_w > 0.0 && neg_w > 0.0 {
        let up = (neg_w / pos_w).powf(power) as f32;
        for (w, &t) in weights.iter_mut().zip(targets.iter()) {
            if t {
                *w *= up;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_keyword_rule_does_not_make_its_sources_full_negatives() {
        let hr = |negatives: bool| -> HeadRecipe {
            toml::from_str(&format!(
                r#"field = "topics"
                train = ["wcep-en-train"]
                dev = []
                c = 1.0
                max_iter = 10
                tol = 1e-4
                [[keyword_labels]]
                label = "medtop:17000000"
                min_terms = 2
                negatives = {negatives}
                keywords.en = ["weather", "forecast"]"#
            ))
            .unwrap()
        };
        let record = |id: &str, topics: &[&str], silver: &[&str]| -> Record {
            let mut r: Record = serde_json::from_value(serde_json::json!({
                "id": id, "lang": "en", "source": "wcep", "title": "", "text": "",
                "topics": topics, "labelled": ["topics"],
            }))
            .unwrap();
            r.silver = silver.iter().map(|s| s.to_string()).collect();
            r
        };
        let records = vec![
            record(
                "w:1",
                &["medtop:03000000", "medtop:17000000"],
                &["medtop:17000000"],
            ),
            record("w:2", &["medtop:03000000"], &[]),
        ];
        let pairs = |negatives| source_labels(&hr(negatives), &records, &[0, 1]);
        let weather = ("wcep", "medtop:17000000");
        let disaster = ("wcep", "medtop:03000000");
        assert!(pairs(true).contains(&weather) && pairs(true).contains(&disaster));
        assert!(!pairs(false).contains(&weather) && pairs(false).contains(&disaster));
    }
}
