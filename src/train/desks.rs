//! Fitting the topic head's desks: one logistic model per training split
//! (which feed a dispatch reads like), their softmax temperature, and each
//! desk's label shift from its training mix to the mix it publishes.

use std::collections::BTreeMap;
use std::time::Instant;

use ndarray::Array1;

use super::calibrate::{self, SliceRecord};
use super::corpus::{Corpus, desk_name, select_rows};
use super::data::Record;
use super::recipe::{CalibrationRecipe, DeskRecipe, HeadRecipe};
use super::solver::{BinaryTask, LogisticParams, fit_one_vs_rest};
use crate::model::calibrate::top;
use crate::model::file::quantize;
use crate::model::{Head, Label};
use crate::{Error, Result};

/// The desk models before their temperature is set.
pub(crate) struct DeskFit {
    /// One label per desk.
    pub(crate) head: Head,
    /// `uses[d][l]`: desk `d`'s rows carry topic label `l` (every label for
    /// a positive-only source).
    pub(crate) uses: Vec<Vec<bool>>,
    pub(crate) seconds: f64,
}

/// Rows per training split, in split order.
fn per_split(corpus: &Corpus, rows: &[usize]) -> BTreeMap<usize, usize> {
    let mut out: BTreeMap<usize, usize> = BTreeMap::new();
    for &i in rows {
        *out.entry(corpus.split_of[i]).or_insert(0) += 1;
    }
    out
}

/// Fits one logistic model per training split on the head's rows (each
/// split weighs the same), leaving out the records `exclude` names.
pub(crate) fn fit_desks(
    hr: &HeadRecipe,
    dr: &DeskRecipe,
    corpus: &Corpus,
    labels: &[Label],
    prune: f32,
    exclude: &dyn Fn(&Record) -> bool,
) -> Result<DeskFit> {
    let t0 = Instant::now();
    let rows = corpus.rows(hr, exclude);
    let per_split = per_split(corpus, &rows);
    let desks: Vec<usize> = per_split.keys().copied().collect();
    let mean = rows.len() as f64 / desks.len().max(1) as f64;
    let weights: Array1<f32> = rows
        .iter()
        .map(|&i| (mean / per_split[&corpus.split_of[i]] as f64) as f32)
        .collect();
    let x = select_rows(&corpus.x_all, &rows, &[], corpus.first_place, dr.use_places);
    let tasks: Vec<BinaryTask> = desks
        .iter()
        .map(|&d| BinaryTask {
            targets: rows.iter().map(|&i| corpus.split_of[i] == d).collect(),
            weights: weights.clone(),
            c: dr.c,
        })
        .collect();
    let params = LogisticParams::new().max_iter(dr.max_iter).tol(dr.tol);
    let fitted =
        fit_one_vs_rest(&x, tasks, &params).map_err(|e| Error::Training(format!("desks: {e}")))?;
    let (mut names, mut w, mut bias, mut uses) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (&d, mut m) in desks.iter().zip(fitted) {
        quantize(&mut m.weights, prune);
        let name = desk_name(&corpus.splits[d]);
        tracing::info!(
            desk = name,
            iterations = m.iterations,
            converged = m.converged,
            "desk fitted"
        );
        let source = rows
            .iter()
            .find(|&&i| corpus.split_of[i] == d)
            .map(|&i| corpus.records[i].source.clone())
            .unwrap_or_default();
        uses.push(labels_used(hr, corpus, &rows, d, &source, labels));
        names.push(Label {
            code: name.to_string(),
            name: format!("{source} ({name})"),
        });
        w.push(m.weights);
        bias.push(m.intercept);
    }
    let thresholds = vec![0.5; names.len()];
    Ok(DeskFit {
        head: Head::new(names, w, bias, thresholds, 0),
        uses,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Which of `labels` split `d`'s rows carry (all of them for a
/// positive-only source).
fn labels_used(
    hr: &HeadRecipe,
    corpus: &Corpus,
    rows: &[usize],
    d: usize,
    source: &str,
    labels: &[Label],
) -> Vec<bool> {
    let open = hr.positive_only.iter().any(|s| s == source);
    labels
        .iter()
        .map(|l| {
            open || rows.iter().any(|&i| {
                corpus.split_of[i] == d && corpus.records[i].labels(&hr.field).contains(&l.code)
            })
        })
        .collect()
}

/// Fits the desk softmax temperature on the calibration slice (records the
/// desk models did not see; each split weighs the same). Returns the
/// temperature and the slice's desk accuracy.
pub(crate) fn fit_temperature(
    desks: &Head,
    hr: &HeadRecipe,
    cal: &CalibrationRecipe,
    corpus: &Corpus,
) -> (f32, f64) {
    let rows = corpus.rows(hr, &|r| !cal.held_out(&r.id));
    let per_split = per_split(corpus, &rows);
    let mut recs = Vec::new();
    let mut hits = 0.0;
    for &i in &rows {
        let name = corpus.desk_of(i);
        let (Some(gold), Some(row)) = (
            desks.labels().iter().position(|l| l.code == name),
            corpus.x_all.outer_view(i),
        ) else {
            continue;
        };
        let z = desks.logits(row.indices(), row.data());
        let weight = rows.len() as f64 / (per_split.len() * per_split[&corpus.split_of[i]]) as f64;
        if top(&z).0 == gold {
            hits += weight;
        }
        recs.push(SliceRecord {
            z,
            gold,
            weight,
            shift: Vec::new(),
        });
    }
    let t = calibrate::fit_group(&recs).t;
    (t, hits / recs.len().max(1) as f64)
}

/// Each desk's label shift (see [`calibrate::desk_shifts`]): label counts
/// on the desk's training rows against those on its dev split
/// (`<desk>-dev`, one of the head's dev splits). A positive-only source
/// has no label mix to learn and keeps its scores.
pub(crate) fn label_shifts(
    hr: &HeadRecipe,
    corpus: &Corpus,
    desks: &[Label],
    labels: &[Label],
    dev: &[(String, Vec<Record>)],
    alpha: f64,
) -> Vec<Vec<f32>> {
    let field = hr.field.as_str();
    let count = |recs: Vec<&Record>| {
        let mut c = vec![0.0f64; labels.len()];
        for code in recs.iter().flat_map(|r| r.labels(field)) {
            if let Some(l) = labels.iter().position(|l| &l.code == code) {
                c[l] += 1.0;
            }
        }
        c
    };
    let rows = corpus.rows(hr, &|_| false);
    let mut train = Vec::new();
    let mut dev_counts = Vec::new();
    for desk in desks {
        let name = desk.code.as_str();
        let own: Vec<&Record> = rows
            .iter()
            .filter(|&&i| corpus.desk_of(i) == name)
            .map(|&i| &corpus.records[i])
            .collect();
        let open = own
            .first()
            .is_some_and(|r| hr.positive_only.contains(&r.source));
        train.push(count(own));
        let dev_name = format!("{name}-dev");
        dev_counts.push(
            dev.iter()
                .find(|(s, _)| !open && *s == dev_name && hr.dev.contains(s))
                .map(|(_, recs)| count(recs.iter().filter(|r| r.is_labelled(field)).collect())),
        );
    }
    let shifts = calibrate::desk_shifts(&train, &dev_counts, alpha);
    for (desk, s) in desks.iter().zip(&shifts) {
        tracing::info!(desk = %desk.code, shift = ?s, "label shift fitted");
    }
    shifts
}
