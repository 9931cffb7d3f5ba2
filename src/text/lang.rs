//! Language of a dispatch: the caller's hint, or detection.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::words;

/// Languages the service knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    /// French.
    Fr,
    /// English.
    En,
    /// Undetermined: detection was unsure.
    Und,
}

impl Lang {
    /// ISO 639-1 code ("fr", "en") or "und".
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
            Lang::Und => "und",
        }
    }

    /// Parses a caller's hint: "" means none; "fr"/"en" (any case) a language.
    pub fn from_hint(hint: &str) -> crate::Result<Option<Lang>> {
        match hint.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "fr" => Ok(Some(Lang::Fr)),
            "en" => Ok(Some(Lang::En)),
            other => Err(crate::Error::invalid(format!(
                "language hint {other:?} is not supported: use \"fr\", \"en\" or leave it empty to detect"
            ))),
        }
    }
}

/// Below this whatlang confidence the guess is too close to call.
///
/// whatlang's own `is_reliable` (0.9) rejects many clean two-line French
/// dispatches; 0.5 keeps those while still refusing one-word inputs.
const MIN_CONFIDENCE: f64 = 0.5;

/// Fewer words than this never settle a language: "Paris" or "Le Mans" are
/// valid in both.
const MIN_WORDS: usize = 3;

/// Bytes of the text read for detection.
const SAMPLE_BYTES: usize = 4096;

/// Function words of the leading language needed to settle it without
/// whatlang, and the lead its (shared) score needs over the runner-up.
const MIN_EVIDENCE: u32 = 3;
const MIN_LEAD: f32 = 1.5;

/// Evidence at which reading stops early: the lead cannot be overturned by
/// what a dispatch's opening usually holds.
const ENOUGH_EVIDENCE: f32 = 8.0;

/// Languages whose NLTK function words are counted: French and English,
/// and the Latin-script languages whose words they share ("la", "en",
/// "die", "du"), so that a Spanish or German text is not taken for
/// French or English. Index 0 is French, 1 English.
const PROFILE_LANGS: &[&str] = &[
    "fr", "en", "es", "pt", "it", "de", "nl", "ca", "da", "no", "sv", "fi", "hu", "id", "ro", "sl",
    "tr", "az", "eu", "sq", "uz",
];

/// Each function word of [`PROFILE_LANGS`] with the set of languages
/// (bit `k` = `PROFILE_LANGS[k]`) it belongs to.
#[derive(Debug, Default)]
struct Profiles {
    /// Words of up to [`PACKED_BYTES`] bytes by [`packed`]: most words of a
    /// text are looked up by one integer, not hashed and compared as text.
    packed: FxHashMap<u128, u32>,
    /// Longer words.
    long: FxHashMap<&'static str, u32>,
}

/// Longest word that [`packed`] holds.
const PACKED_BYTES: usize = 16;

/// The bytes of `word` in one integer, zero-padded; `None` when longer
/// than [`PACKED_BYTES`]. Words are letters, never NUL, so two words
/// differ in their packed forms.
fn packed(word: &[u8]) -> Option<u128> {
    if word.len() > PACKED_BYTES {
        return None;
    }
    Some(
        word.iter()
            .rev()
            .fold(0u128, |key, &b| (key << 8) | u128::from(b)),
    )
}

impl Profiles {
    fn get() -> &'static Profiles {
        static PROFILES: OnceLock<Profiles> = OnceLock::new();
        PROFILES.get_or_init(|| {
            let mut profiles = Profiles::default();
            for (k, code) in PROFILE_LANGS.iter().enumerate() {
                for w in stop_words::lookup(code).unwrap_or_default() {
                    let langs = match packed(w.as_bytes()) {
                        Some(key) => profiles.packed.entry(key).or_insert(0),
                        None => profiles.long.entry(w).or_insert(0),
                    };
                    *langs |= 1 << k;
                }
            }
            profiles
        })
    }

    /// The languages whose function word `w` (a run of letters of up to 12
    /// bytes) is, lowercased (through `word` when it is not ASCII).
    #[inline]
    fn langs(&self, w: &str, word: &mut String) -> Option<u32> {
        if w.is_ascii() {
            // ASCII letters only: lower case is the 0x20 bit of each byte.
            let key = w
                .bytes()
                .rev()
                .fold(0u128, |key, b| (key << 8) | u128::from(b | 0x20));
            return self.packed.get(&key).copied();
        }
        word.clear();
        w.chars().for_each(|c| words::push_lowercase(c, word));
        match packed(word.as_bytes()) {
            Some(key) => self.packed.get(&key),
            None => self.long.get(word.as_str()),
        }
        .copied()
    }
}

/// Detects French or English; [`Lang::Und`] when unsure.
///
/// The function words of the opening settle most texts: each word counts
/// for the languages whose function word it is (shared equally), and
/// French or English with a clear lead wins. Other texts (few function
/// words, another language leading, other scripts) go to whatlang's
/// trigram detector, which answers "und" for a language not ours.
pub fn detect(text: &str) -> Lang {
    detect_with(text, |_| None)
}

/// [`detect`], asking `vocabulary` (a model's:
/// [`crate::model::features::TfIdf::language_of`], which knows which
/// words each language's training documents use) about a text whose
/// function words are too few or too evenly shared to settle it, as in
/// most headlines, before whatlang; and about a text whose function words
/// point to another language only when whatlang is unsure. `vocabulary`
/// gets the detection sample.
pub fn detect_with(text: &str, vocabulary: impl FnOnce(&str) -> Option<Lang>) -> Lang {
    let sample = prefix(text, SAMPLE_BYTES);
    // The word count below reads at most the sample.
    crate::work::add(sample.len());
    let count = sample
        .split(|c: char| !words::is_letter(c))
        .filter(|w| !w.is_empty())
        .take(MIN_WORDS)
        .count();
    if count < MIN_WORDS {
        return Lang::Und;
    }
    match function_word_vote(sample) {
        Vote::Ours(lang) => lang,
        // Other scripts are none of ours: the vocabulary and whatlang's
        // allowlist would force a guess.
        _ if !latin(sample) => Lang::Und,
        // French text rich in words shared with Romance languages can lead
        // with one of them: whatlang tells them apart.
        Vote::Other => whatlang_detect(sample)
            .or_else(|| vocabulary(sample))
            .unwrap_or(Lang::Und),
        Vote::Unsettled => vocabulary(sample)
            .or_else(|| whatlang_detect(sample))
            .unwrap_or(Lang::Und),
    }
}

/// Whether whatlang reads `sample` as Latin script.
fn latin(sample: &str) -> bool {
    crate::work::add(sample.len());
    whatlang::detect_script(sample) == Some(whatlang::Script::Latin)
}

/// What the function words of a text say.
enum Vote {
    /// French or English, clearly.
    Ours(Lang),
    /// Another language leads clearly.
    Other,
    /// Too few, or too evenly shared.
    Unsettled,
}

/// French or English when the function words of `sample` clearly point to
/// it, [`Vote::Other`] when they point elsewhere.
fn function_word_vote(sample: &str) -> Vote {
    let profiles = Profiles::get();
    let mut score = [0f32; PROFILE_LANGS.len()];
    let mut hits = [0u32; PROFILE_LANGS.len()];
    let mut word = String::with_capacity(32);
    let mut read = 0;
    let mut counted = 0usize;
    for w in sample.split(|c: char| !words::is_letter(c)) {
        read += w.len() + 1;
        if w.is_empty() || w.len() > 12 {
            continue;
        }
        let Some(mask) = profiles.langs(w, &mut word) else {
            continue;
        };
        let share = 1.0 / mask.count_ones() as f32;
        let mut m = mask;
        while m != 0 {
            let k = m.trailing_zeros() as usize;
            score[k] += share;
            hits[k] += 1;
            m &= m - 1;
        }
        counted += 1;
        if counted.is_multiple_of(8) && settled(&score).is_some_and(|(_, s)| s >= ENOUGH_EVIDENCE) {
            break;
        }
    }
    crate::work::add(read.min(sample.len()));
    let Some((best, _)) = settled(&score) else {
        return Vote::Unsettled;
    };
    if hits[best] < MIN_EVIDENCE {
        return Vote::Unsettled;
    }
    match best {
        0 => Vote::Ours(Lang::Fr),
        1 => Vote::Ours(Lang::En),
        _ => Vote::Other,
    }
}

/// The leading language and its score, when it leads the runner-up by
/// [`MIN_LEAD`] times.
fn settled(score: &[f32]) -> Option<(usize, f32)> {
    let (mut best, mut first, mut second) = (0, 0.0f32, 0.0f32);
    for (k, &s) in score.iter().enumerate() {
        if s > first {
            (second, first, best) = (first, s, k);
        } else if s > second {
            second = s;
        }
    }
    (first > 0.0 && first >= MIN_LEAD * second).then_some((best, first))
}

/// The languages whatlang weighs French and English against: the
/// Latin-script languages of Europe most often mistaken for them. Scoring
/// all 69 cost four times as much and settled no more dev text.
const WHATLANG_LANGS: &[whatlang::Lang] = &[
    whatlang::Lang::Fra,
    whatlang::Lang::Eng,
    whatlang::Lang::Spa,
    whatlang::Lang::Por,
    whatlang::Lang::Ita,
    whatlang::Lang::Deu,
    whatlang::Lang::Nld,
    whatlang::Lang::Cat,
];

/// whatlang's trigram detector over a Latin-script sample: French, English
/// or "und" for another language; `None` when it is unsure.
fn whatlang_detect(sample: &str) -> Option<Lang> {
    static DETECTOR: OnceLock<whatlang::Detector> = OnceLock::new();
    crate::work::add(sample.len());
    let detector =
        DETECTOR.get_or_init(|| whatlang::Detector::with_allowlist(WHATLANG_LANGS.to_vec()));
    let info = detector.detect(sample)?;
    if info.confidence() < MIN_CONFIDENCE {
        return None;
    }
    Some(match info.lang() {
        whatlang::Lang::Fra => Lang::Fr,
        whatlang::Lang::Eng => Lang::En,
        _ => Lang::Und,
    })
}

/// The longest prefix of `text` of at most `max` bytes ending on a char
/// boundary.
fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_and_english_dispatches_are_recognised() {
        let fr = "Les présidents iranien et russe ont salué la victoire de l'armée syrienne à Alep lors d'un entretien téléphonique samedi soir.";
        let en = "Quarterly profits at US media giant TimeWarner jumped 76% to $1.13bn for the three months to December.";
        assert_eq!(detect(fr), Lang::Fr);
        assert_eq!(detect(en), Lang::En);
        // Briefs: function words settle them, or whatlang when they are few.
        assert_eq!(
            detect("La Banque centrale européenne relève ses taux d'un quart de point."),
            Lang::Fr
        );
        assert_eq!(
            detect("Apple on Tuesday unveiled a new iPhone powered by a faster processor"),
            Lang::En
        );
    }

    #[test]
    fn other_languages_and_scraps_are_undetermined() {
        assert_eq!(detect(""), Lang::Und);
        assert_eq!(detect("Paris"), Lang::Und);
        assert_eq!(detect("12 345 !!"), Lang::Und);
        assert_eq!(
            detect(
                "Der Bundestag hat am Donnerstag das neue Gesetz mit großer Mehrheit beschlossen."
            ),
            Lang::Und
        );
        assert_eq!(
            detect("Путин и Роухани приветствовали победу сирийской армии в Алеппо."),
            Lang::Und
        );
        for other in [
            "El Gobierno aprobó el martes una subida de los impuestos para las grandes empresas.",
            "Il governo ha approvato martedì un aumento delle tasse per le grandi imprese.",
            "O governo aprovou na terça-feira um aumento dos impostos para as grandes empresas.",
            "De regering heeft dinsdag een belastingverhoging voor grote bedrijven goedgekeurd.",
            "Rząd zatwierdził we wtorek podwyżkę podatków dla dużych przedsiębiorstw.",
            "Regeringen godkände på tisdagen en skattehöjning för stora företag.",
            "Hükümet salı günü büyük şirketler için vergi artışını onayladı.",
            "Vláda v úterý schválila zvýšení daní pro velké podniky.",
            "Chính phủ đã phê duyệt việc tăng thuế đối với các doanh nghiệp lớn.",
            "Pamahalaan inaprubahan ang pagtaas ng buwis para sa malalaking kumpanya.",
        ] {
            assert_eq!(detect(other), Lang::Und, "{other}");
        }
    }

    #[test]
    fn the_vocabulary_is_asked_only_what_detection_leaves_unsettled() {
        let asked = |text: &str| {
            let mut asked = None;
            let got = detect_with(text, |sample| {
                asked = Some(sample.to_string());
                Some(Lang::En)
            });
            (got, asked)
        };
        // Function words settle it, another script or a language whatlang
        // names is not ours, two words are too few: never asked.
        let fr = "La Banque centrale européenne relève ses taux d'un quart de point.";
        assert_eq!(asked(fr), (Lang::Fr, None));
        let ru = "Путин и Роухани приветствовали победу сирийской армии в Алеппо.";
        assert_eq!(asked(ru), (Lang::Und, None));
        let de = "Der Bundestag hat am Donnerstag das neue Gesetz mit großer Mehrheit beschlossen.";
        assert_eq!(asked(de), (Lang::Und, None));
        assert_eq!(asked("Time Warner"), (Lang::Und, None));
        // A headline without function words is asked, and its answer kept.
        let headline = "Ad sales boost Time Warner profit";
        assert_eq!(asked(headline), (Lang::En, Some(headline.to_string())));
        assert_eq!(detect(headline), Lang::Und);
    }

    #[test]
    fn function_words_settle_a_french_brief_without_whatlang() {
        let brief =
            "La Banque centrale européenne relève ses taux d'un quart de point face à l'inflation.";
        assert!(matches!(function_word_vote(brief), Vote::Ours(Lang::Fr)));
    }

    /// Each function word with its languages, by text: what [`Profiles`]
    /// must answer.
    fn profiles_by_text() -> FxHashMap<&'static str, u32> {
        let mut map: FxHashMap<&'static str, u32> = FxHashMap::default();
        for (k, code) in PROFILE_LANGS.iter().enumerate() {
            for w in stop_words::lookup(code).unwrap_or_default() {
                *map.entry(w).or_insert(0) |= 1 << k;
            }
        }
        map
    }

    #[test]
    fn packed_profiles_answer_as_the_words_do() {
        let by_text = profiles_by_text();
        let profiles = Profiles::get();
        assert_eq!(profiles.packed.len() + profiles.long.len(), by_text.len());
        let mut word = String::new();
        // Lowercased a character at a time, as detection does.
        let lookup_by_text = |w: &str| {
            let lower: String = w.chars().flat_map(char::to_lowercase).collect();
            by_text.get(lower.as_str()).copied()
        };
        // Every function word as written, capitalised and in capitals, as
        // the letter runs of a text give them.
        for f in by_text.keys() {
            for run in f.split(|c: char| !words::is_letter(c)) {
                let upper = run.to_uppercase();
                let mut cap = run.chars();
                let cap = cap
                    .next()
                    .map(|c| c.to_uppercase().chain(cap).collect::<String>())
                    .unwrap_or_default();
                for w in [run, upper.as_str(), cap.as_str()] {
                    if w.is_empty() || w.len() > 12 {
                        continue;
                    }
                    assert_eq!(profiles.langs(w, &mut word), lookup_by_text(w), "{w:?}");
                }
            }
        }
        // Letter runs of dispatches and words no list holds.
        let example = include_str!("../../tests/data/aleppo-fr.txt");
        for w in example
            .split(|c: char| !words::is_letter(c))
            .chain(["", "Zz", "DEUX", "ÉTÉ", "İstanbul", "ǅa", "ΣΑΣ", "Été"])
            .filter(|w| w.len() <= 12)
        {
            assert_eq!(profiles.langs(w, &mut word), lookup_by_text(w), "{w:?}");
        }
    }

    #[test]
    fn a_huge_multibyte_text_is_cut_on_a_char_boundary() {
        let text = "é".repeat(5000) + " la victoire de l'armée";
        let _ = detect(&text);
        assert!(prefix(&text, 4095).len() <= 4095);
    }
}
