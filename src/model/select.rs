//! The one rule for which labels of a scored head a caller gets; the
//! service returns them and evaluation scores them.

use super::LabelScore;

/// How many labels of a head a caller gets at most, and the floor they
/// must reach (the caller's `min_score`; `None` = each label's own
/// threshold).
pub type Choice = (usize, Option<f32>);

/// The labels a caller gets from scores sorted best first: those over the
/// floor (the caller's `min_score`, or each label's own threshold, i.e.
/// `selected`), always the best one when the caller set no floor, at most
/// `max`.
pub fn chosen(
    scores: &[LabelScore],
    max: usize,
    min_score: Option<f32>,
) -> impl Iterator<Item = &LabelScore> {
    chosen_by(scores, (max, min_score), |s| (s.score, s.selected))
}

/// [`chosen`] of any scores sorted best first, each read by `key` as its
/// score and whether it passes its label's threshold.
pub(crate) fn chosen_by<T>(
    scores: &[T],
    (max, min_score): Choice,
    key: impl Fn(&T) -> (f32, bool),
) -> impl Iterator<Item = &T> {
    scores
        .iter()
        .enumerate()
        .filter(move |&(rank, s)| {
            let (score, selected) = key(s);
            match min_score {
                Some(floor) => score >= floor,
                None => selected || rank == 0,
            }
        })
        .take(max)
        .map(|(_, s)| s)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A label score without evidence, named after its code.
    pub(crate) fn score(code: &str, score: f32, selected: bool) -> LabelScore {
        LabelScore {
            code: code.into(),
            name: code.into(),
            score,
            selected,
            voted: false,
            evidence: vec![],
        }
    }

    fn codes(scores: &[LabelScore], max: usize, min_score: Option<f32>) -> Vec<&str> {
        chosen(scores, max, min_score)
            .map(|s| s.code.as_str())
            .collect()
    }

    #[test]
    fn the_best_label_is_kept_even_under_its_threshold() {
        let scores = [score("a", 0.4, false), score("b", 0.1, false)];
        assert_eq!(codes(&scores, 3, None), ["a"]);
        // A label over its own threshold comes with it.
        let scores = [score("a", 0.4, false), score("b", 0.3, true)];
        assert_eq!(codes(&scores, 3, None), ["a", "b"]);
    }

    #[test]
    fn a_caller_floor_and_the_maximum_are_honoured() {
        let scores = [
            score("a", 0.9, true),
            score("b", 0.6, true),
            score("c", 0.5, false),
        ];
        assert_eq!(codes(&scores, 3, Some(0.55)), ["a", "b"]);
        assert_eq!(codes(&scores, 1, None), ["a"]);
        assert!(codes(&scores, 3, Some(0.95)).is_empty());
    }
}
