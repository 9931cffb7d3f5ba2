//! Probability calibration of a head whose training labels are single-label
//! (topics): per language group, a softmax over the one-vs-rest logits with
//! a temperature, then Platt scaling of each label's log-odds.
//!
//! ```text
//! q_l = softmax(t * z)_l                       (t fitted by weighted NLL of the gold label)
//! p_l = sigmoid(a * ln(q_l / (1 - q_l)) + b)   (a, b fitted on top-1 correctness)
//! ```
//!
//! Both maps are monotone in `z_l` for a fixed document, so the ranking of a
//! document's labels, and hence top-1 accuracy, is unchanged. Everything is
//! fitted on a slice of the training splits held out from the head's fit,
//! never on dev; every source in a group weighs the same in the fit, so
//! OrangeSum's thousands of records do not set MasakhaNEWS-fr's scale.

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
    /// Slice records it was fitted on.
    pub n: u32,
}

impl GroupCalibration {
    /// No change to the scores' ranking; softmax at t = 1, Platt identity.
    pub const IDENTITY: GroupCalibration = GroupCalibration {
        t: 1.0,
        a: 1.0,
        b: 0.0,
        n: 0,
    };
}

/// A head's calibration: per language, and a fallback for `und`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// French documents.
    pub fr: GroupCalibration,
    /// English documents.
    pub en: GroupCalibration,
    /// Undetermined language: fitted on every slice record.
    pub und: GroupCalibration,
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

    /// Calibrated probabilities from a document's logits (in label order).
    pub fn apply(&self, lang: Lang, z: &[f32]) -> Vec<f32> {
        let g = self.group(lang);
        softmax(z, g.t)
            .into_iter()
            .map(|q| platt(g.a, g.b, q))
            .collect()
    }
}

fn softmax(z: &[f32], t: f32) -> Vec<f32> {
    let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(t * v));
    let e: Vec<f32> = z.iter().map(|&v| (t * v - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.into_iter().map(|v| v / sum).collect()
}

fn logit(q: f64) -> f64 {
    let q = q.clamp(1e-7, 1.0 - 1e-7);
    (q / (1.0 - q)).ln()
}

fn platt(a: f32, b: f32, q: f32) -> f32 {
    let x = logit(f64::from(q));
    (1.0 / (1.0 + (-(f64::from(a) * x + f64::from(b))).exp())) as f32
}

/// One held-out record: its logits, gold label index, weight.
#[derive(Debug, Clone)]
pub struct SliceRecord {
    /// Raw one-vs-rest logits in label order.
    pub z: Vec<f32>,
    /// Index of the gold label.
    pub gold: usize,
    /// Weight in the fit.
    pub weight: f64,
}

/// Weighted NLL of the gold label under softmax(t z), and its derivative in t.
fn softmax_nll(recs: &[SliceRecord], t: f64) -> (f64, f64) {
    let (mut f, mut g) = (0.0, 0.0);
    for r in recs {
        let max =
            r.z.iter()
                .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        let e: Vec<f64> =
            r.z.iter()
                .map(|&v| (t * (f64::from(v) - max)).exp())
                .collect();
        let sum: f64 = e.iter().sum();
        let mean_z: f64 =
            r.z.iter()
                .zip(&e)
                .map(|(&v, &w)| f64::from(v) * w / sum)
                .sum();
        let zg = f64::from(r.z[r.gold]);
        f -= r.weight * (t * (zg - max) - sum.ln());
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
    let (mut a, mut b) = (1.0f64, 0.0f64);
    for _ in 0..50 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) =
            (1e-3 * (a - 1.0), 1e-3 * b, 1e-3, 0.0, 1e-3);
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
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() + db.abs() < 1e-9 {
            break;
        }
    }
    (a, b)
}

/// Fits one group's calibration on its slice records.
pub fn fit_group(recs: &[SliceRecord]) -> GroupCalibration {
    if recs.is_empty() {
        return GroupCalibration::IDENTITY;
    }
    let t = fit_temperature(recs);
    let top: Vec<(f64, bool, f64)> = recs
        .iter()
        .map(|r| {
            let q = softmax(&r.z, t as f32);
            let (best, qb) =
                q.iter().enumerate().fold(
                    (0, f32::NEG_INFINITY),
                    |m, (k, &v)| if v > m.1 { (k, v) } else { m },
                );
            (logit(f64::from(qb)), best == r.gold, r.weight)
        })
        .collect();
    let (a, b) = fit_platt(&top);
    GroupCalibration {
        t: t as f32,
        a: a as f32,
        b: b as f32,
        n: recs.len() as u32,
    }
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
