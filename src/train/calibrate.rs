//! Fitting the topic head's calibration (`crate::model::calibrate`): per
//! language group, the softmax temperature and the Platt map, on a slice of
//! the training splits held out of the head's fit.
//!
//! Every source in a group weighs the same in the fit, so a corpus of
//! thousands of records does not set the scale of one of hundreds.

use std::collections::BTreeMap;

use super::corpus::Corpus;
use super::recipe::{CalibrationRecipe, HeadRecipe};
use crate::model::calibrate::{Calibration, GroupCalibration, logit, softmax, top};
use crate::model::{Head, raw_scores};
use crate::text::Lang;

/// One held-out record: its logits, gold label index and weight.
#[derive(Debug, Clone)]
pub struct SliceRecord {
    /// Raw one-vs-rest logits in label order.
    pub z: Vec<f32>,
    /// Index of the gold label.
    pub gold: usize,
    /// Weight in the fit.
    pub weight: f64,
}

/// Weighted NLL of the gold label under softmax(t z), and its derivative in
/// t.
fn softmax_nll(recs: &[SliceRecord], t: f64) -> (f64, f64) {
    let (mut f, mut g) = (0.0, 0.0);
    for r in recs {
        let s: Vec<f64> = r.z.iter().map(|&v| t * f64::from(v)).collect();
        let max = s.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        let e: Vec<f64> = s.iter().map(|&v| (v - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        let mean_z: f64 =
            r.z.iter()
                .zip(&e)
                .map(|(&v, &w)| f64::from(v) * w / sum)
                .sum();
        let zg = f64::from(r.z[r.gold]);
        f -= r.weight * (s[r.gold] - max - sum.ln());
        g -= r.weight * (zg - mean_z);
    }
    (f, g)
}

/// Fits the softmax temperature factor by bisection on the derivative of
/// the (convex in t) NLL, in [0.01, 100].
fn fit_temperature(recs: &[SliceRecord]) -> f64 {
    let (mut lo, mut hi) = (0.01f64, 100.0f64);
    if softmax_nll(recs, lo).1 >= 0.0 {
        return lo;
    }
    if softmax_nll(recs, hi).1 <= 0.0 {
        return hi;
    }
    for _ in 0..60 {
        let mid = (lo * hi).sqrt();
        if softmax_nll(recs, mid).1 < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo * hi).sqrt()
}

/// Weighted two-parameter logistic regression of `y` on `x` (Newton, with a
/// tiny ridge so separable data stays finite).
fn fit_platt(xs: &[(f64, bool, f64)]) -> (f64, f64) {
    fit_platt_toward(xs, (1.0, 0.0), 1e-3)
}

/// [`fit_platt`] with a ridge of `strength` pulling `(a, b)` toward
/// `center`: few records move the map little.
fn fit_platt_toward(xs: &[(f64, bool, f64)], center: (f64, f64), strength: f64) -> (f64, f64) {
    // The penalized NLL, to damp the steps: a full Newton step from far
    // off can overshoot and never come back (all records at one score).
    let loss = |a: f64, b: f64| -> f64 {
        let ridge = 0.5 * strength * ((a - center.0).powi(2) + (b - center.1).powi(2));
        ridge
            + xs.iter()
                .map(|&(x, y, w)| {
                    let s = a * x + b;
                    // ln(1 + e^s) - y s, stable for large |s|.
                    w * (s.max(0.0) + (-s.abs()).exp().ln_1p() - if y { s } else { 0.0 })
                })
                .sum::<f64>()
    };
    let (mut a, mut b) = center;
    let mut f = loss(a, b);
    for _ in 0..50 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (
            strength * (a - center.0),
            strength * (b - center.1),
            strength,
            0.0,
            strength,
        );
        for &(x, y, w) in xs {
            let p = 1.0 / (1.0 + (-(a * x + b)).exp());
            let r = w * (p - f64::from(u8::from(y)));
            ga += r * x;
            gb += r;
            let h = w * p * (1.0 - p);
            haa += h * x * x;
            hab += h * x;
            hbb += h;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-18 {
            break;
        }
        let (mut da, mut db) = ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det);
        let mut next = loss(a - da, b - db);
        for _ in 0..40 {
            if next <= f {
                break;
            }
            da *= 0.5;
            db *= 0.5;
            next = loss(a - da, b - db);
        }
        if next > f {
            break;
        }
        a -= da;
        b -= db;
        f = next;
        if da.abs() + db.abs() < 1e-9 {
            break;
        }
    }
    (a, b)
}

/// The top label's log-odds after the group's softmax and whether it is the
/// gold label.
fn top_logit(r: &SliceRecord, g: &GroupCalibration) -> (f64, bool) {
    let q = softmax(&r.z, g.t);
    let (best, qb) = top(&q);
    (logit(f64::from(qb)), best == r.gold)
}

/// Fits one group's calibration on its slice records: the softmax
/// temperature of least weighted NLL, then Platt on the top label.
pub fn fit_group(recs: &[SliceRecord]) -> GroupCalibration {
    if recs.is_empty() {
        return GroupCalibration::IDENTITY;
    }
    let mut g = GroupCalibration {
        t: fit_temperature(recs) as f32,
        n: recs.len() as u32,
        ..GroupCalibration::IDENTITY
    };
    let top: Vec<(f64, bool, f64)> = recs
        .iter()
        .map(|r| {
            let (x, hit) = top_logit(r, &g);
            (x, hit, r.weight)
        })
        .collect();
    let (a, b) = fit_platt(&top);
    g.a = a as f32;
    g.b = b as f32;
    g
}

/// The group maps fitted on the training slice.
pub(crate) struct SliceFit {
    /// The maps of each language group.
    pub(crate) calibration: Calibration,
    /// Slice records used.
    pub(crate) records: usize,
}

/// Fits the topic head's language-group maps on the single-label records of
/// its training splits that the calibration slice held out of `head`'s fit,
/// scored as serving scores them; every split weighs the same within a
/// language group.
pub(crate) fn fit_slice(
    head: &Head,
    hr: &HeadRecipe,
    cal: &CalibrationRecipe,
    corpus: &Corpus,
) -> SliceFit {
    let slice = slice_records(head, hr, cal, corpus);
    let group = |keep: &dyn Fn(Lang) -> bool| {
        let mut per_split: BTreeMap<usize, usize> = BTreeMap::new();
        for (s, l, _) in &slice {
            if keep(*l) {
                *per_split.entry(*s).or_insert(0) += 1;
            }
        }
        let total: usize = per_split.values().sum();
        let recs: Vec<SliceRecord> = slice
            .iter()
            .filter(|(_, l, _)| keep(*l))
            .map(|(s, _, r)| SliceRecord {
                // Each split weighs the same; mean weight 1.
                weight: r.weight * total as f64 / (per_split.len() * per_split[s]) as f64,
                ..r.clone()
            })
            .collect();
        fit_group(&recs)
    };
    SliceFit {
        calibration: Calibration {
            fr: group(&|l| l == Lang::Fr),
            en: group(&|l| l == Lang::En),
            und: group(&|_| true),
        },
        records: slice.len(),
    }
}

/// The slice records: (split, language, record) of each single-label
/// training record in the calibration slice, its gold among `head`'s labels.
fn slice_records(
    head: &Head,
    hr: &HeadRecipe,
    cal: &CalibrationRecipe,
    corpus: &Corpus,
) -> Vec<(usize, Lang, SliceRecord)> {
    let field = hr.field.as_str();
    let mut slice = Vec::new();
    for (i, r) in corpus.records.iter().enumerate() {
        let split = corpus.split_of[i];
        if !hr.train.contains(&corpus.splits[split])
            || !r.is_labelled(field)
            || !cal.held_out(&r.id)
        {
            continue;
        }
        let [gold] = r.labels(field) else { continue };
        let Some(gold) = head.labels().iter().position(|l| &l.code == gold) else {
            continue;
        };
        let Some(row) = corpus.x_all.outer_view(i) else {
            continue;
        };
        let lang = r.lang_hint().unwrap_or(Lang::Und);
        let raw = raw_scores(head, lang, (row.indices(), row.data()));
        slice.push((
            split,
            lang,
            SliceRecord {
                z: raw.z,
                gold,
                weight: 1.0,
            },
        ));
    }
    slice
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two labels; the gold is label 0 with a 3:1 chance whatever the
    /// logits say, so the logits are overconfident by a factor.
    fn overconfident() -> Vec<SliceRecord> {
        (0..400)
            .map(|i| SliceRecord {
                z: vec![4.0, -4.0],
                gold: usize::from(i % 4 == 0),
                weight: 1.0,
            })
            .collect()
    }

    /// Every record at one confident score, right 3 times in 4: a full
    /// Newton step overshoots; the damped fit lands on the hit rate.
    #[test]
    fn a_map_of_records_at_one_score_lands_on_their_hit_rate() {
        let xs: Vec<(f64, bool, f64)> = (0..200).map(|i| (4.28, i % 4 != 0, 1.0)).collect();
        let (a, b) = fit_platt_toward(&xs, (0.7, 0.4), 1.0);
        let p = 1.0 / (1.0 + (-(a * 4.28 + b)).exp());
        assert!((p - 0.75).abs() < 0.01, "{a} {b} {p}");
    }

    #[test]
    fn calibrated_top_score_matches_the_hit_rate() {
        let recs = overconfident();
        let g = fit_group(&recs);
        let c = Calibration {
            fr: g,
            en: GroupCalibration::IDENTITY,
            und: GroupCalibration::IDENTITY,
        };
        let p = c.apply(Lang::Fr, &[4.0, -4.0]);
        assert!((p[0] - 0.75).abs() < 0.01, "{p:?} {g:?}");
        // Ranking is kept.
        assert!(p[0] > p[1]);
        // The uncalibrated group is a plain softmax.
        let p = c.apply(Lang::En, &[0.0, 0.0]);
        assert!((p[0] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn identity_on_empty_slices() {
        assert_eq!(fit_group(&[]), GroupCalibration::IDENTITY);
    }
}
