//! A per-thread count of the steps the text pipeline takes (characters,
//! tokens and pairs visited), so that tests and the fuzz target can check
//! that work grows linearly with the input without timing anything.
//!
//! Counting is compiled in for the crate's own tests and with the
//! `work-count` feature (the fuzz target's); otherwise [`add`] is empty and
//! [`take`] answers 0.

#[cfg(any(test, feature = "work-count"))]
thread_local! {
    static STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts `n` steps of work on this thread.
#[inline(always)]
pub fn add(n: usize) {
    #[cfg(any(test, feature = "work-count"))]
    STEPS.with(|s| s.set(s.get().saturating_add(n as u64)));
    #[cfg(not(any(test, feature = "work-count")))]
    let _ = n;
}

/// The steps counted on this thread since the last call, and a fresh count.
pub fn take() -> u64 {
    #[cfg(any(test, feature = "work-count"))]
    return STEPS.with(|s| s.replace(0));
    #[cfg(not(any(test, feature = "work-count")))]
    0
}

/// Every text-processing stage on adversarial inputs of 64 KiB and 1 MiB:
/// 16 times the input may cost at most about 16 times the steps (a
/// quadratic stage would take 256 times).
#[cfg(test)]
mod linear {
    use std::sync::{Arc, OnceLock};

    use crate::model::Model;
    use crate::summarize::Budget;
    use crate::tagger::Tagger;
    use crate::text::{self, Lang, sentences, words};

    const SMALL: usize = 64 << 10;
    const LARGE: usize = 1 << 20;

    fn tagger() -> &'static Tagger {
        static TAGGER: OnceLock<Tagger> = OnceLock::new();
        TAGGER.get_or_init(|| Tagger::new(Arc::new(Model::embedded().expect("embedded model"))))
    }

    /// `piece` repeated to `bytes` (cut on a char boundary).
    fn repeated(piece: &str, bytes: usize) -> String {
        let mut s = piece.repeat(bytes / piece.len() + 1);
        let mut end = bytes;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s
    }

    /// Steps of `stage` on 1 MiB over steps on 64 KiB of `piece` repeated.
    fn growth(stage: impl Fn(&str), piece: &str) -> f64 {
        let small = repeated(piece, SMALL);
        let large = repeated(piece, LARGE);
        super::take();
        stage(&small);
        let a = super::take();
        stage(&large);
        let b = super::take();
        assert!(a > 0, "no work counted on {piece:?}");
        b as f64 / a as f64
    }

    /// Inputs that have made text scanners super-linear, by what they
    /// attack: repeated teaser markers (with and without a story between
    /// them, glued after a stop), unbalanced quotes, abbreviations and
    /// initials, glued stops, one endless word, place-name prefixes that
    /// never complete, photo credits and datelines, many short sentences.
    const TEASERS: &[&str] = &[
        "Lire aussi : ",
        "Lire aussi : Le Soudan dévalue sa monnaie Le gouvernement a nié. ",
        "fin.Lire aussi : Le Soudan ",
        "A ne pas manquer sur BBC Afrique : Regarder : ",
    ];
    const STOPS: &[&str] = &["« Il a dit. Elle a dit. ", "M. J. K. U.S. Inc. ", "ab.Cd,"];
    const WORD: &str = "x";
    const PLACES: &str = "Guinée Guinée-Bissau Royaume ";
    const CREDITS: &str = "(Photo : Reuters) PARIS (Reuters) - ";
    const SENTENCES: &str = "Le président a salué la victoire à Alep.\n";

    fn assert_linear(name: &str, pieces: &[&str], stage: impl Fn(&str)) {
        for piece in pieces {
            let g = growth(&stage, piece);
            assert!(
                g <= 20.0,
                "{name}: 16x the input cost {g:.1}x the steps on {piece:?}"
            );
        }
    }

    #[test]
    fn cleaning_is_linear() {
        let pieces = [TEASERS, STOPS, &[WORD, CREDITS, SENTENCES]].concat();
        assert_linear("clean", &pieces, |t| {
            text::clean(t);
        });
    }

    /// Markup that never closes: tags, comments, skipped elements, a
    /// `<` without its `>`.
    const MARKUP: &[&str] = &[
        "<a ",
        "<p <b>",
        "<script>",
        "<nav>x</na",
        "<!-- ",
        "<!doctype ",
        "</",
        "<p>Le président.</p>",
    ];

    #[test]
    fn folding_is_linear() {
        assert_linear("fold", MARKUP, |t| {
            text::fold::fold_mapped(t);
        });
    }

    #[test]
    fn language_detection_is_linear() {
        assert_linear("language", &[WORD, SENTENCES], |t| {
            text::lang::detect(t);
        });
    }

    #[test]
    fn sentence_and_word_segmentation_are_linear() {
        let pieces = [STOPS, &[WORD, SENTENCES]].concat();
        assert_linear("sentences", &pieces, |t| {
            sentences::split(t, 0..t.len(), Lang::Fr);
        });
        assert_linear("words", &pieces, |t| {
            words::tokens(t).for_each(drop);
        });
    }

    #[test]
    fn places_and_features_are_linear() {
        let model = tagger().model();
        assert_linear("places", &[PLACES, STOPS[1], SENTENCES], |t| {
            model.gazetteer().places(t);
        });
        assert_linear("features", &[PLACES, SENTENCES], |t| {
            let p = crate::prepare::prepare("", t, Some(Lang::Fr), model.gazetteer());
            model.features().transform(&p.input(), model.gazetteer());
        });
    }

    #[test]
    fn summaries_are_linear() {
        assert_linear("summarize", &[TEASERS[1], STOPS[0], SENTENCES], |t| {
            tagger().summarize("", t, Some(Lang::Fr), Budget::sentences(3));
        });
    }
}
