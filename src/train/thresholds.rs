//! Per-label decision thresholds, tuned on dev: the F1-best threshold of
//! each label's dev scores, shrunk toward the recipe's default by
//! `threshold_prior` pseudo-positives.

use super::data::Record;
use super::recipe::HeadRecipe;
use super::report::LabelFit;
use crate::model::{LabelScore, Prediction};

/// Dev records of one split with their predictions.
pub(crate) struct DevSplit {
    /// Split name.
    pub(crate) name: String,
    pub(crate) records: Vec<Record>,
    pub(crate) preds: Vec<Prediction>,
}

/// Tunes the threshold of each of a head's labels (`fits`, label order) on
/// the head's dev splits; `scores` picks the head's scores of a prediction.
/// Returns the thresholds and records them in `fits`.
pub(crate) fn tune(
    hr: &HeadRecipe,
    fits: &mut [LabelFit],
    dev: &[DevSplit],
    scores: impl Fn(&Prediction) -> &[LabelScore],
) -> Vec<f32> {
    fits.iter_mut()
        .map(|fit| {
            let code = &fit.code;
            let mut pairs = Vec::new();
            for split in dev.iter().filter(|s| hr.dev.contains(&s.name)) {
                for (r, p) in split.records.iter().zip(&split.preds) {
                    if !r.is_labelled(&hr.field) || hr.positive_only.contains(&r.source) {
                        continue;
                    }
                    if let Some(sc) = scores(p).iter().find(|sc| &sc.code == code) {
                        pairs.push((sc.score, r.labels(&hr.field).contains(code)));
                    }
                }
            }
            let positives = pairs.iter().filter(|p| p.1).count() as f64;
            let tuned = best_threshold(pairs, hr.default_threshold, hr.min_dev_positives);
            let k = hr.threshold_prior;
            let t = if positives + k > 0.0 {
                ((positives * f64::from(tuned) + k * f64::from(hr.default_threshold))
                    / (positives + k)) as f32
            } else {
                tuned
            };
            fit.threshold = t;
            t
        })
        .collect()
}

/// Chooses the threshold that maximises F1 over (score, positive) pairs;
/// midway between the last score kept and the next one.
fn best_threshold(mut pairs: Vec<(f32, bool)>, default: f32, min_positives: usize) -> f32 {
    let positives = pairs.iter().filter(|p| p.1).count();
    if positives == 0 || positives < min_positives {
        return default;
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut best, mut best_t) = (0usize, -1.0f64, default);
    for k in 0..pairs.len() {
        if pairs[k].1 {
            tp += 1;
        }
        let next = pairs.get(k + 1).map(|p| p.0);
        if next == Some(pairs[k].0) {
            continue;
        }
        let f1 = 2.0 * tp as f64 / (positives + k + 1) as f64;
        if f1 > best {
            best = f1;
            best_t = match next {
                Some(n) => (pairs[k].0 + n) / 2.0,
                None => pairs[k].0 * 0.5,
            };
        }
    }
    best_t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_maximises_f1() {
        let pairs = vec![
            (0.9, true),
            (0.8, true),
            (0.6, false),
            (0.3, true),
            (0.1, false),
        ];
        let t = best_threshold(pairs, 0.5, 1);
        // Keeping the top two gives F1 0.8; keeping four gives 0.857.
        assert!(t > 0.1 && t < 0.3, "{t}");
        assert_eq!(best_threshold(vec![(0.4, false)], 0.5, 1), 0.5);
        assert_eq!(best_threshold(vec![(0.4, true)], 0.5, 2), 0.5);
    }
}
