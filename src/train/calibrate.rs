//! Fitting the topic head's calibration (`crate::model::calibrate`): per
//! language group, the softmax temperature and the Platt map, on a slice of
//! the training splits held out of the head's fit.
//!
//! Every source in a group weighs the same in the fit, so a corpus of
//! thousands of records does not set the scale of one of hundreds.
//!
//! With a prior correction, each group first gets per-label offsets that
//! take the slice's label mix out of the logits (a label the corpora file
//! often starts ahead of one they rarely file, whatever the dispatch says);
//! the temperature and Platt maps are fitted on the offset logits.

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

/// Per-label offsets `-tau ln pi_l`, centred on zero, where `pi_l` is the
/// weighted mean of softmax(z)_l over the records: the label mix the head
/// scores a group with. Empty when `tau` is 0 or there are no records.
fn label_mix_offsets(recs: &[SliceRecord], tau: f64) -> Vec<f32> {
    let Some(first) = recs.first() else {
        return Vec::new();
    };
    if tau == 0.0 {
        return Vec::new();
    }
    let mut pi = vec![0.0f64; first.z.len()];
    let mut total = 0.0;
    for r in recs {
        for (p, q) in pi.iter_mut().zip(softmax(&r.z, 1.0)) {
            *p += r.weight * f64::from(q);
        }
        total += r.weight;
    }
    // A label no record gives any share still gets a finite offset.
    let d: Vec<f64> = pi
        .iter()
        .map(|p| -tau * (p / total).max(1e-6).ln())
        .collect();
    let mean = d.iter().sum::<f64>() / d.len() as f64;
    d.iter().map(|v| (v - mean) as f32).collect()
}

/// Fits one group's calibration on its slice records: the label-mix
/// offsets at `prior_correction`, the softmax temperature of least weighted
/// NLL on the offset logits, then Platt on the top label.
pub fn fit_group(recs: &[SliceRecord], prior_correction: f64) -> GroupCalibration {
    if recs.is_empty() {
        return GroupCalibration::IDENTITY;
    }
    let offsets = label_mix_offsets(recs, prior_correction);
    let shifted: Vec<SliceRecord>;
    let recs = if offsets.is_empty() {
        recs
    } else {
        shifted = recs
            .iter()
            .map(|r| SliceRecord {
                z: r.z.iter().zip(&offsets).map(|(v, d)| v + d).collect(),
                ..r.clone()
            })
            .collect();
        &shifted
    };
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
    g.offsets = offsets;
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
        fit_group(&recs, cal.prior_correction)
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
        let g = fit_group(&recs, 0.0);
        let c = Calibration {
            fr: g.clone(),
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

    /// Label 0 is filed three times as often as label 1, and the head has
    /// learned the mix: an ambiguous document leans to label 0 until the
    /// mix is taken out.
    #[test]
    fn the_prior_correction_takes_the_label_mix_out() {
        let recs: Vec<SliceRecord> = (0..400)
            .map(|i| {
                let common = i % 4 != 0;
                SliceRecord {
                    z: if common {
                        vec![1.0, 0.0]
                    } else {
                        vec![0.0, 1.0]
                    },
                    gold: usize::from(!common),
                    weight: 1.0,
                }
            })
            .collect();
        let calibration = |g: GroupCalibration| Calibration {
            fr: g.clone(),
            en: g.clone(),
            und: g,
        };
        let plain = calibration(fit_group(&recs, 0.0));
        let fair = calibration(fit_group(&recs, 1.0));
        assert!(plain.fr.offsets.is_empty());
        let d = &fair.fr.offsets;
        assert!(d[1] > d[0] && (d[0] + d[1]).abs() < 1e-6, "{d:?}");
        let ambiguous = [0.3, 0.0];
        let p = plain.apply(Lang::Fr, &ambiguous);
        assert!(p[0] > p[1], "{p:?}");
        let p = fair.apply(Lang::Fr, &ambiguous);
        assert!(p[1] > p[0], "{p:?}");
        // A clear document keeps its label.
        let p = fair.apply(Lang::Fr, &[3.0, 0.0]);
        assert!(p[0] > p[1], "{p:?}");
    }

    #[test]
    fn identity_on_empty_slices() {
        assert_eq!(fit_group(&[], 0.0), GroupCalibration::IDENTITY);
        assert_eq!(fit_group(&[], 1.0), GroupCalibration::IDENTITY);
    }
}
