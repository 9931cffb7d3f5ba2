//! Probability calibration of a head whose training labels are single-label
//! (topics): per language group, a softmax over the one-vs-rest logits with
//! a temperature, then Platt scaling of each label's log-odds.
//!
//! ```text
//! m_l = f + (1 - f) * a_l                      (a_l: the desk prior, see below)
//! q_l = softmax(t * z + ln m)_l                (t, f fitted by weighted NLL of the gold label)
//! p_l = sigmoid(a * ln(q_l / (1 - q_l)) + b)   (a, b fitted on top-1 correctness)
//! ```
//!
//! `a_l` is the probability that the dispatch comes from a desk whose
//! taxonomy has label `l` (`DeskPrior` in `src/model/mod.rs`); `f` is the floor
//! that keeps a label no known desk would use possible (f = 1: no prior).
//!
//! With per-desk maps (format 4), the Platt step is instead a mixture of one
//! Platt map per desk, weighted by the desk probabilities `w_d` of the
//! dispatch: `p_l = sum_d w_d sigmoid(a_d ln(q_l / (1 - q_l)) + b_d)`. A
//! desk's map is fitted on the slice records weighted by their probability
//! of that desk, pulled toward its language group's map, so MasakhaNEWS-fr's
//! few records correct its confidence without being trusted alone.
//!
//! Both maps are monotone in `z_l` for a fixed document, so the ranking of a
//! document's labels, and hence top-1 accuracy, is unchanged. The group
//! maps are fitted on a slice of the training splits held out from the
//! head's fit; every source in a group weighs the same in the fit, so
//! OrangeSum's thousands of records do not set MasakhaNEWS-fr's scale. The
//! desk maps are fitted on that slice too, or (recipe `desk_maps = "dev"`)
//! on the desks' dev stories as the served head scores them.

use serde::{Deserialize, Serialize};

use crate::text::Lang;

/// Calibration of one language group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GroupCalibration {
    /// Softmax temperature factor applied to the logits.
    pub t: f32,
    /// Platt slope on the softmax log-odds.
    pub a: f32,
    /// Platt intercept.
    pub b: f32,
    /// Floor of the desk prior: 1 ignores it, near 0 trusts it fully.
    pub floor: f32,
    /// Slice records it was fitted on.
    pub n: u32,
}

impl GroupCalibration {
    /// No change to the scores' ranking; softmax at t = 1, Platt identity.
    pub const IDENTITY: GroupCalibration = GroupCalibration {
        t: 1.0,
        a: 1.0,
        b: 0.0,
        floor: 1.0,
        n: 0,
    };
}

/// The Platt map of one desk (its top-label log-odds to a probability).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DeskPlatt {
    /// Platt slope, positive.
    pub a: f32,
    /// Platt intercept.
    pub b: f32,
    /// Slice weight it was fitted on (sum of the records' desk probabilities).
    pub n: f32,
}

/// A head's calibration: per language, and a fallback for `und`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// French documents.
    pub fr: GroupCalibration,
    /// English documents.
    pub en: GroupCalibration,
    /// Undetermined language: fitted on every slice record.
    pub und: GroupCalibration,
    /// One Platt map per desk of the desk prior, in its order (empty: the
    /// language group's Platt map applies).
    pub desks: Vec<DeskPlatt>,
    /// Per desk (in its order), per label: the shift of the label's score
    /// from the desk's training label mix to the mix it publishes,
    /// `ln(dev share / training share)`, mixed by the desk probabilities
    /// (empty: no shift). Format version 5.
    pub shifts: Vec<Vec<f32>>,
}

impl Calibration {
    /// The group of a language.
    pub fn group(&self, lang: Lang) -> &GroupCalibration {
        match lang {
            Lang::Fr => &self.fr,
            Lang::En => &self.en,
            Lang::Und => &self.und,
        }
    }

    /// Calibrated probabilities from a document's logits (in label order)
    /// and, when the model has one, its desk prior `a_l` (same order) and
    /// desk probabilities `desks` (in desk order).
    pub fn apply(&self, lang: Lang, z: &[f32], prior: Option<&[f32]>, desks: &[f32]) -> Vec<f32> {
        let g = self.group(lang);
        let total: f32 = desks.iter().sum();
        let mixed = !(total.is_nan() || total <= 0.0);
        let mut o = offsets(prior, g.floor, z.len());
        for (o, s) in o.iter_mut().zip(mixed_shift(&self.shifts, desks, z.len())) {
            *o += s;
        }
        let q = softmax(z, g.t, &o);
        if self.desks.is_empty() || self.desks.len() != desks.len() || !mixed {
            return q.into_iter().map(|q| platt(g.a, g.b, q)).collect();
        }
        q.into_iter()
            .map(|q| {
                // One log-odds per label, whatever the number of desks.
                let x = logit(f64::from(q));
                desks
                    .iter()
                    .zip(&self.desks)
                    .map(|(&w, d)| w * platt_of_logit(d.a, d.b, x))
                    .sum::<f32>()
                    / total
            })
            .collect()
    }
}

/// `ln(f + (1 - f) a_l)` per label; zeros without a prior or at f = 1.
pub(crate) fn offsets(prior: Option<&[f32]>, floor: f32, n: usize) -> Vec<f32> {
    match prior {
        Some(a) if floor < 1.0 && a.len() == n => a
            .iter()
            .map(|&a| (floor + (1.0 - floor) * a.clamp(0.0, 1.0)).max(1e-9).ln())
            .collect(),
        _ => vec![0.0; n],
    }
}

/// softmax(t z + o); `o` may be empty (no offsets).
pub(crate) fn softmax(z: &[f32], t: f32, o: &[f32]) -> Vec<f32> {
    let s: Vec<f32> = z
        .iter()
        .enumerate()
        .map(|(k, &v)| t * v + o.get(k).copied().unwrap_or(0.0))
        .collect();
    let max = s.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let e: Vec<f32> = s.iter().map(|&v| (v - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.into_iter().map(|v| v / sum).collect()
}

fn logit(q: f64) -> f64 {
    let q = q.clamp(1e-7, 1.0 - 1e-7);
    (q / (1.0 - q)).ln()
}

fn platt(a: f32, b: f32, q: f32) -> f32 {
    platt_of_logit(a, b, logit(f64::from(q)))
}

/// [`platt`] of a probability whose log-odds `x` are already known.
fn platt_of_logit(a: f32, b: f32, x: f64) -> f32 {
    (1.0 / (1.0 + (-(f64::from(a) * x + f64::from(b))).exp())) as f32
}

/// One held-out record: its logits, desk prior, gold label index, weight.
#[derive(Debug, Clone)]
pub struct SliceRecord {
    /// Raw one-vs-rest logits in label order.
    pub z: Vec<f32>,
    /// Desk prior `a_l` per label (empty: none).
    pub prior: Vec<f32>,
    /// Index of the gold label.
    pub gold: usize,
    /// Weight in the fit.
    pub weight: f64,
    /// Label-shift offsets the serving adds before the softmax, mixed by the
    /// record's desk probabilities as [`Calibration::apply`] does (empty:
    /// none).
    pub shift: Vec<f32>,
}

/// The offsets of a slice record at `floor`: desk prior plus label shift.
fn record_offsets(r: &SliceRecord, floor: f32) -> Vec<f32> {
    let mut o = offsets(Some(&r.prior), floor, r.z.len());
    for (o, &s) in o.iter_mut().zip(&r.shift) {
        *o += s;
    }
    o
}

/// The label-shift offsets `apply` adds for desk probabilities `desks`:
/// each desk's shifts mixed by its probability (empty: none).
pub fn mixed_shift(shifts: &[Vec<f32>], desks: &[f32], n: usize) -> Vec<f32> {
    let total: f32 = desks.iter().sum();
    if shifts.len() != desks.len() || total.is_nan() || total <= 0.0 {
        return Vec::new();
    }
    let mut o = vec![0.0; n];
    for (&w, shift) in desks.iter().zip(shifts) {
        for (o, &s) in o.iter_mut().zip(shift) {
            *o += w * s / total;
        }
    }
    o
}

/// Weighted NLL of the gold label under softmax(t z + o), and its
/// derivative in t; `o` per record from [`offsets`] at `floor`.
fn softmax_nll(recs: &[SliceRecord], offs: &[Vec<f32>], t: f64) -> (f64, f64) {
    let (mut f, mut g) = (0.0, 0.0);
    for (r, o) in recs.iter().zip(offs) {
        let s: Vec<f64> =
            r.z.iter()
                .zip(o)
                .map(|(&v, &o)| t * f64::from(v) + f64::from(o))
                .collect();
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
fn fit_temperature(recs: &[SliceRecord], offs: &[Vec<f32>]) -> f64 {
    let (mut lo, mut hi) = (0.01f64, 100.0f64);
    if softmax_nll(recs, offs, lo).1 >= 0.0 {
        return lo;
    }
    if softmax_nll(recs, offs, hi).1 <= 0.0 {
        return hi;
    }
    for _ in 0..60 {
        let mid = (lo * hi).sqrt();
        if softmax_nll(recs, offs, mid).1 < 0.0 {
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
    let q = softmax(&r.z, g.t, &record_offsets(r, g.floor));
    let (best, qb) = top(&q);
    (logit(f64::from(qb)), best == r.gold)
}

/// Index and value of the largest score (the first on ties; `(0, -inf)`
/// when empty).
pub(crate) fn top(scores: &[f32]) -> (usize, f32) {
    scores.iter().enumerate().fold(
        (0, f32::NEG_INFINITY),
        |m, (k, &v)| if v > m.1 { (k, v) } else { m },
    )
}

/// Least slope a desk map may have: every map stays increasing, so a
/// mixture of them keeps the ranking of a document's labels.
const MIN_SLOPE: f64 = 0.05;

/// Fits one Platt map per desk on slice records, each given with its
/// language group's calibration and its desk probabilities: desk `d`
/// weighs a record by its weight times its probability of `d`, and its map
/// is pulled toward the weighted mean of those records' group maps with a
/// ridge of `strength`.
pub fn fit_desk_platts(
    recs: &[(&SliceRecord, &GroupCalibration, &[f32])],
    n_desks: usize,
    strength: f64,
) -> Vec<DeskPlatt> {
    // The top label under the group's map does not depend on the desk.
    let tops: Vec<(f64, bool)> = recs.iter().map(|(r, g, _)| top_logit(r, g)).collect();
    (0..n_desks)
        .map(|d| {
            let mut xs = Vec::with_capacity(recs.len());
            let (mut ca, mut cb, mut n) = (0.0, 0.0, 0.0);
            for ((r, g, p), &(x, hit)) in recs.iter().zip(&tops) {
                let w = r.weight * f64::from(p.get(d).copied().unwrap_or(0.0));
                if w <= 0.0 {
                    continue;
                }
                xs.push((x, hit, w));
                ca += w * f64::from(g.a);
                cb += w * f64::from(g.b);
                n += w;
            }
            if n <= 0.0 {
                return DeskPlatt {
                    a: 1.0,
                    b: 0.0,
                    n: 0.0,
                };
            }
            let (a, b) = fit_platt_toward(&xs, (ca / n, cb / n), strength);
            DeskPlatt {
                a: a.max(MIN_SLOPE) as f32,
                b: b as f32,
                n: n as f32,
            }
        })
        .collect()
}

/// Label shifts per desk from label counts: `train[d][l]` on the desk's
/// training rows, `dev[d][l]` on its dev split (`None`: the desk has no dev
/// split to learn its mix from). Over the labels counted in both, shares
/// are smoothed by `alpha` pseudo-counts and the shift is `ln(dev share /
/// training share)`; a label missing from either side is not shifted, so
/// a dev split that happens to lack a label never silences it.
pub fn desk_shifts(train: &[Vec<f64>], dev: &[Option<Vec<f64>>], alpha: f64) -> Vec<Vec<f32>> {
    train
        .iter()
        .zip(dev)
        .map(|(t, d)| {
            let Some(d) = d else {
                return vec![0.0; t.len()];
            };
            let both: Vec<bool> = t.iter().zip(d).map(|(&a, &b)| a > 0.0 && b > 0.0).collect();
            let k = both.iter().filter(|&&b| b).count() as f64;
            let total = |c: &[f64]| -> f64 {
                c.iter()
                    .zip(&both)
                    .filter(|(_, b)| **b)
                    .map(|(c, _)| c)
                    .sum::<f64>()
                    + alpha * k
            };
            let (tt, td) = (total(t), total(d));
            t.iter()
                .zip(d)
                .zip(&both)
                .map(|((&a, &b), &on)| {
                    if on {
                        (((b + alpha) / td) / ((a + alpha) / tt)).ln() as f32
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// Floors of the desk prior tried, from "ignore it" to "trust it".
const FLOORS: [f32; 8] = [1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.003];

/// Fits one group's calibration on its slice records: for each floor of
/// the desk prior the temperature, keeping the pair of least NLL; then
/// Platt on the top label.
pub fn fit_group(recs: &[SliceRecord]) -> GroupCalibration {
    if recs.is_empty() {
        return GroupCalibration::IDENTITY;
    }
    let has_prior = recs.iter().all(|r| r.prior.len() == r.z.len());
    let floors: &[f32] = if has_prior { &FLOORS } else { &FLOORS[..1] };
    let mut best: Option<(f64, f32, f64, Vec<Vec<f32>>)> = None;
    for &floor in floors {
        let offs: Vec<Vec<f32>> = recs.iter().map(|r| record_offsets(r, floor)).collect();
        let t = fit_temperature(recs, &offs);
        let nll = softmax_nll(recs, &offs, t).0;
        if best.as_ref().is_none_or(|b| nll < b.0) {
            best = Some((nll, floor, t, offs));
        }
    }
    let Some((_, floor, t, _)) = best else {
        return GroupCalibration::IDENTITY;
    };
    let mut g = GroupCalibration {
        t: t as f32,
        a: 1.0,
        b: 0.0,
        floor,
        n: recs.len() as u32,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Two labels; the gold is label 0 with a 3:1 chance whatever the
    /// logits say, so the logits are overconfident by a factor.
    fn overconfident() -> Vec<SliceRecord> {
        (0..400)
            .map(|i| SliceRecord {
                z: vec![4.0, -4.0],
                prior: Vec::new(),
                gold: usize::from(i % 4 == 0),
                weight: 1.0,
                shift: Vec::new(),
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
            desks: Vec::new(),
            shifts: Vec::new(),
        };
        let p = c.apply(Lang::Fr, &[4.0, -4.0], None, &[]);
        assert!((p[0] - 0.75).abs() < 0.01, "{p:?} {g:?}");
        // Ranking is kept.
        assert!(p[0] > p[1]);
        // The uncalibrated group is a plain softmax.
        let p = c.apply(Lang::En, &[0.0, 0.0], None, &[]);
        assert!((p[0] - 0.5).abs() < 1e-6);
    }

    /// Three labels; label 2 is never gold where the desk prior says no
    /// desk uses it, although the logits like it: the fit trusts the prior.
    #[test]
    fn a_prior_that_explains_the_errors_gets_a_low_floor() {
        let recs: Vec<SliceRecord> = (0..300)
            .map(|i| SliceRecord {
                z: vec![1.0, 0.0, 1.2],
                prior: vec![1.0, 1.0, 0.0],
                gold: usize::from(i % 3 == 0),
                weight: 1.0,
                shift: Vec::new(),
            })
            .collect();
        let g = fit_group(&recs);
        assert!(g.floor < 0.05, "{g:?}");
        let c = Calibration {
            fr: g,
            en: g,
            und: g,
            desks: Vec::new(),
            shifts: Vec::new(),
        };
        let p = c.apply(Lang::Fr, &[1.0, 0.0, 1.2], Some(&[1.0, 1.0, 0.0]), &[]);
        assert!(p[2] < p[1] && p[1] < p[0], "{p:?}");
        // A useless prior (every label allowed) is ignored.
        let flat: Vec<SliceRecord> = recs
            .iter()
            .map(|r| SliceRecord {
                prior: vec![1.0; 3],
                gold: 2,
                ..r.clone()
            })
            .collect();
        assert_eq!(fit_group(&flat).floor, 1.0);
    }

    /// Two desks share one language group: desk 0's top label is right 3
    /// times in 4, desk 1's always. The group map averages them; each desk's
    /// map follows its own hit rate, and a dispatch between the desks gets
    /// a score between theirs without its labels changing order.
    #[test]
    fn each_desk_map_follows_its_own_hit_rate() {
        let recs: Vec<SliceRecord> = (0..800)
            .map(|i| SliceRecord {
                z: vec![4.0, -4.0],
                prior: Vec::new(),
                gold: usize::from(i < 400 && i % 4 == 0),
                weight: 1.0,
                shift: Vec::new(),
            })
            .collect();
        let g = fit_group(&recs);
        let probs: Vec<[f32; 2]> = (0..800)
            .map(|i| if i < 400 { [1.0, 0.0] } else { [0.0, 1.0] })
            .collect();
        let with: Vec<(&SliceRecord, &GroupCalibration, &[f32])> = recs
            .iter()
            .zip(&probs)
            .map(|(r, p)| (r, &g, p.as_slice()))
            .collect();
        let desks = fit_desk_platts(&with, 2, 1e-3);
        assert!(desks.iter().all(|d| d.a > 0.0 && d.n == 400.0), "{desks:?}");
        let c = Calibration {
            fr: g,
            en: g,
            und: g,
            desks,
            shifts: Vec::new(),
        };
        let z = [4.0, -4.0];
        let group = c.apply(Lang::Fr, &z, None, &[])[0];
        let a = c.apply(Lang::Fr, &z, None, &[1.0, 0.0])[0];
        let b = c.apply(Lang::Fr, &z, None, &[0.0, 1.0])[0];
        let mid = c.apply(Lang::Fr, &z, None, &[0.5, 0.5]);
        assert!((group - 0.875).abs() < 0.01, "{group}");
        assert!((a - 0.75).abs() < 0.01, "{a}");
        assert!(b > 0.97, "{b}");
        assert!(a < mid[0] && mid[0] < b && mid[1] < mid[0], "{mid:?}");
        // A desk with no slice records keeps the identity map; desk
        // probabilities that do not match the maps fall back to the group.
        assert_eq!(fit_desk_platts(&with, 3, 1.0)[2].n, 0.0);
        assert_eq!(c.apply(Lang::Fr, &z, None, &[1.0, 0.0, 0.0])[0], group);
    }

    /// A desk trained on a balanced sample (50 stories per label) that
    /// publishes few of label 2 and none of label 3.
    #[test]
    fn a_desk_shift_follows_the_mix_the_desk_publishes() {
        let train = vec![vec![50.0, 50.0, 50.0, 50.0, 0.0], vec![10.0; 5]];
        let dev = vec![Some(vec![50.0, 50.0, 5.0, 0.0, 7.0]), None];
        let s = desk_shifts(&train, &dev, 1.0);
        // Shares over the three labels counted on both sides: train 1/3
        // each, dev 51/108, 51/108, 6/108.
        let want = |c: f64| ((c / 108.0) / (51.0 / 153.0)).ln() as f32;
        assert!((s[0][0] - want(51.0)).abs() < 1e-6, "{s:?}");
        assert!((s[0][2] - want(6.0)).abs() < 1e-6, "{s:?}");
        assert!(s[0][2] < -1.5 && s[0][0] > 0.3, "{s:?}");
        // Missing from the dev split or from training: never silenced.
        assert_eq!((s[0][3], s[0][4]), (0.0, 0.0));
        // No dev split: no shift.
        assert_eq!(s[1], vec![0.0; 5]);

        // Serving: economy (0) and science (1) nearly tie; the shift of the
        // desk the dispatch reads like decides, mixed by its probability.
        let c = Calibration {
            fr: GroupCalibration::IDENTITY,
            en: GroupCalibration::IDENTITY,
            und: GroupCalibration::IDENTITY,
            desks: Vec::new(),
            shifts: vec![vec![0.0, 0.0], vec![0.4, -1.3]],
        };
        let z = [1.0, 1.2];
        let other = c.apply(Lang::Fr, &z, None, &[1.0, 0.0]);
        assert!(other[1] > other[0], "{other:?}");
        let own = c.apply(Lang::Fr, &z, None, &[0.0, 1.0]);
        assert!(own[0] > own[1], "{own:?}");
        let half = c.apply(Lang::Fr, &z, None, &[0.5, 0.5]);
        assert!(own[0] > half[0] && half[0] > other[0], "{half:?}");
        // Desk probabilities that do not match the shifts are ignored.
        assert_eq!(c.apply(Lang::Fr, &z, None, &[0.0, 1.0, 0.0]), other);
    }

    #[test]
    fn identity_on_empty_slices() {
        assert_eq!(fit_group(&[]), GroupCalibration::IDENTITY);
    }
}
