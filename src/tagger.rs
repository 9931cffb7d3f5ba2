//! The domain API the transports call: classify and summarize a dispatch
//! with a loaded model. Knows nothing of gRPC.

use std::sync::Arc;

use crate::cutoff::Deadline;
use crate::geo::PlaceCount;
use crate::model::{LabelScore, Model};
use crate::prepare::prepare_observed;
use crate::stage::Stage;
use crate::summarize::{self, Budget, Chosen};
use crate::text::{self, Lang};
use crate::{Error, Result};

/// Limits applied to every request, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest `text` accepted, in bytes.
    pub max_text_bytes: usize,
    /// Largest `maxTopics`/`maxRegions` accepted.
    pub max_labels: usize,
    /// Largest `maxSentences` accepted.
    pub max_sentences: usize,
    /// Largest `maxChars` accepted.
    pub max_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_text_bytes: 1 << 20,
            max_labels: 20,
            max_sentences: 20,
            max_chars: MAX_CHARS,
        }
    }
}

/// Topics returned when the caller asks for 0.
pub const DEFAULT_MAX_TOPICS: usize = 3;
/// Regions returned when the caller asks for 0.
pub const DEFAULT_MAX_REGIONS: usize = 4;
/// Sentences returned when the caller asks for 0.
pub const DEFAULT_MAX_SENTENCES: usize = 3;
/// Largest summary length budget accepted, in characters.
pub const MAX_CHARS: usize = 10_000;
/// Evidence terms per tag when `explain` is set.
pub const EVIDENCE_TERMS: usize = 8;
/// Longest caller `id` accepted, in bytes.
pub const MAX_ID_BYTES: usize = 256;
/// Longest `title` accepted, in bytes (a headline, not a second body).
pub const MAX_TITLE_BYTES: usize = 4096;
/// Longest `language` hint accepted, in bytes (a BCP 47 tag).
pub const MAX_LANGUAGE_BYTES: usize = 35;
/// Most `candidateTopics` codes accepted.
pub const MAX_CANDIDATE_TOPICS: usize = 64;
/// Longest `candidateTopics` code accepted, in bytes.
pub const MAX_TOPIC_CODE_BYTES: usize = 64;

/// A classify call's options, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifyOptions {
    /// Language hint.
    pub language: Option<Lang>,
    /// Topics to return at most.
    pub max_topics: usize,
    /// Regions to return at most.
    pub max_regions: usize,
    /// Probability floor; `None` = the model's own thresholds.
    pub min_score: Option<f32>,
    /// Return evidence terms.
    pub explain: bool,
    /// ISO 3166-1 alpha-2 code (upper case) of the country a dispatch that
    /// names none is about; `None` = the model's home region per language.
    pub home_country: Option<String>,
    /// Topic codes the answer is chosen among; empty = every topic.
    pub candidate_topics: Vec<String>,
}

/// One returned label.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    /// Label code.
    pub code: String,
    /// English name.
    pub name: String,
    /// Probability in [0, 1].
    pub score: f32,
    /// Contributing terms, strongest first (empty unless asked).
    pub evidence: Vec<(String, f32)>,
}

/// A country found in the dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// ISO alpha-2.
    pub iso2: String,
    /// English name.
    pub name: String,
    /// Mentions.
    pub mentions: u32,
    /// M49 sub-region.
    pub subregion: String,
    /// M49 region.
    pub region: String,
}

/// What classify answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// Language used.
    pub language: Lang,
    /// Topics, best first.
    pub topics: Vec<Tag>,
    /// Regions, best first.
    pub regions: Vec<Tag>,
    /// Places, most mentioned first.
    pub places: Vec<Place>,
}

/// What summarize answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Language used.
    pub language: Lang,
    /// Chosen sentences, in document order.
    pub sentences: Vec<Chosen>,
}

impl Summary {
    /// Each chosen sentence as it stands in `text` (the request's text).
    pub fn sentence_texts<'a>(&'a self, text: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.sentences
            .iter()
            .map(move |c| text.get(c.start..c.end).unwrap_or_default())
    }

    /// The summary a reader sees: the chosen sentences joined by one space.
    pub fn joined(&self, text: &str) -> String {
        self.sentence_texts(text).collect::<Vec<_>>().join(" ")
    }
}

/// Checks what every request shares: the lengths of id, title and
/// language hint, and a usable text. No message quotes the field.
pub fn validate_fields(
    id: &str,
    title: &str,
    language: &str,
    text: &str,
    limits: &Limits,
) -> Result<()> {
    for (field, value, max) in [
        ("id", id, MAX_ID_BYTES),
        ("title", title, MAX_TITLE_BYTES),
        ("language", language, MAX_LANGUAGE_BYTES),
    ] {
        if value.len() > max {
            return Err(Error::invalid(format!(
                "{field} is {} bytes; use at most {max}",
                value.len()
            )));
        }
    }
    validate_text(text, limits)
}

/// Checks that `text` is within the limit and not blank.
fn validate_text(text: &str, limits: &Limits) -> Result<()> {
    if text.len() > limits.max_text_bytes {
        return Err(Error::TooLarge {
            what: "text",
            got: text.len(),
            limit: limits.max_text_bytes,
        });
    }
    if text.is_empty() {
        return Err(Error::invalid(
            "text is empty: send the body of the dispatch in `text`",
        ));
    }
    if text::is_blank(text) {
        return Err(Error::invalid(
            "text is empty: send the body of the dispatch in `text` (it has only whitespace, control or invisible characters)",
        ));
    }
    Ok(())
}

/// Turns raw request limits (0 = default) into checked counts.
pub fn label_limit(name: &str, asked: u32, default: usize, max: usize) -> Result<usize> {
    match asked as usize {
        0 => Ok(default.min(max)),
        n if n <= max => Ok(n),
        n => Err(Error::invalid(format!(
            "{name} is {n}; use 0 for the default ({default}) or a value up to {max}"
        ))),
    }
}

/// Checks a `maxChars` budget: 0 means none, otherwise at most `max`.
pub fn max_chars(asked: u32, max: usize) -> Result<usize> {
    match asked as usize {
        n if n <= max => Ok(n),
        n => Err(Error::invalid(format!(
            "maxChars is {n}; use 0 for no character budget or a value up to {max}"
        ))),
    }
}

/// Checks a `homeCountry`: empty means none, otherwise two ASCII letters
/// (an ISO 3166-1 alpha-2 code, any case), returned in upper case. Whether
/// the model's gazetteer knows the country is checked when the dispatch is
/// tagged.
pub fn home_country(asked: &str) -> Result<Option<String>> {
    let code = asked.trim();
    if code.is_empty() {
        return Ok(None);
    }
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
        let shown: String = code.chars().take(16).collect();
        return Err(Error::invalid(format!(
            "homeCountry is {shown:?}; use an ISO 3166-1 alpha-2 code such as \"FR\" or \"CA\", or leave it empty"
        )));
    }
    Ok(Some(code.to_ascii_uppercase()))
}

/// Checks `candidateTopics`: at most [`MAX_CANDIDATE_TOPICS`] codes of at
/// most [`MAX_TOPIC_CODE_BYTES`] bytes, none blank; returned trimmed.
/// Whether the model knows each code is checked when the dispatch is
/// tagged.
pub fn candidate_topics(asked: &[String]) -> Result<Vec<String>> {
    if asked.len() > MAX_CANDIDATE_TOPICS {
        return Err(Error::invalid(format!(
            "candidateTopics has {} codes; use at most {MAX_CANDIDATE_TOPICS}, or none for every topic",
            asked.len()
        )));
    }
    asked
        .iter()
        .enumerate()
        .map(|(k, code)| {
            let code = code.trim();
            if code.is_empty() || code.len() > MAX_TOPIC_CODE_BYTES {
                let shown: String = code.chars().take(16).collect();
                return Err(Error::invalid(format!(
                    "candidateTopics[{k}] is {shown:?}; use topic codes such as \"medtop:15000000\" (GetModelInfo lists them)"
                )));
            }
            Ok(code.to_string())
        })
        .collect()
}

/// Checks a `minScore`: 0 means none, otherwise a probability.
pub fn min_score(asked: f32) -> Result<Option<f32>> {
    if !asked.is_finite() || !(0.0..=1.0).contains(&asked) {
        return Err(Error::invalid(format!(
            "minScore is {asked}; use a probability between 0 and 1 (0 = the model's thresholds)"
        )));
    }
    Ok((asked > 0.0).then_some(asked))
}

/// Classifies and summarizes with one loaded model.
#[derive(Debug, Clone)]
pub struct Tagger {
    model: Arc<Model>,
}

impl Tagger {
    /// Wraps a loaded model.
    pub fn new(model: Arc<Model>) -> Self {
        Tagger { model }
    }

    /// The loaded model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Tags one dispatch.
    ///
    /// # Panics
    ///
    /// When `opts.home_country` is a country the model's gazetteer does not
    /// know, or `opts.candidate_topics` holds a topic the model does not;
    /// [`Tagger::classify_within`] answers those with an error.
    pub fn classify(&self, title: &str, text: &str, opts: &ClassifyOptions) -> Classification {
        self.classify_within(title, text, opts, &Deadline::none(), &mut |_| {})
            .expect("work without a deadline stops only on an unknown home country or topic")
    }

    /// The place a dispatch that names none is read as naming: the home
    /// country once, or nothing. An error when the gazetteer does not know
    /// the country.
    fn home_place(&self, home_country: Option<&str>) -> Result<Vec<PlaceCount>> {
        let Some(code) = home_country else {
            return Ok(Vec::new());
        };
        match self.model.gazetteer().country(code) {
            Some(c) => Ok(vec![PlaceCount {
                iso2: c.iso2.clone(),
                mentions: 1,
            }]),
            None => Err(Error::invalid(format!(
                "homeCountry {code:?} is not a country this model knows; use an ISO 3166-1 alpha-2 code such as \"FR\" or \"CA\""
            ))),
        }
    }

    /// The topic mask of `candidate_topics` (`None` when empty); an error
    /// names the first code the model does not know.
    fn topic_mask(&self, candidate_topics: &[String]) -> Result<Option<Vec<bool>>> {
        if candidate_topics.is_empty() {
            return Ok(None);
        }
        self.model.topic_mask(candidate_topics).map(Some).map_err(|code| {
            Error::invalid(format!(
                "candidateTopics has {code:?}, not a topic this model knows; GetModelInfo lists its topic codes (\"medtop:15000000\" is sport)"
            ))
        })
    }

    /// Tags one dispatch unless `deadline` passes first: it is checked
    /// between stages, and the work stops at the first check past it.
    /// `done` is called as each stage ends (clean, language, places,
    /// features, scoring): the benchmarks' stage split.
    #[tracing::instrument(level = "debug", skip_all, fields(bytes = text.len()))]
    pub fn classify_within(
        &self,
        title: &str,
        text: &str,
        opts: &ClassifyOptions,
        deadline: &Deadline,
        done: &mut (impl FnMut(Stage) + ?Sized),
    ) -> Result<Classification> {
        let home = self.home_place(opts.home_country.as_deref())?;
        let among = self.topic_mask(&opts.candidate_topics)?;
        deadline.check()?;
        let prepared = prepare_observed(
            title,
            text,
            opts.language,
            Some(self.model.features()),
            self.model.gazetteer(),
            done,
        );
        deadline.check()?;
        let explain = if opts.explain { EVIDENCE_TERMS } else { 0 };
        let mut input = prepared.input();
        if input.places.is_empty() {
            input.places = &home;
        }
        let choice = (
            (opts.max_topics, opts.min_score),
            (opts.max_regions, opts.min_score),
        );
        let prediction = self
            .model
            .predict_chosen(&input, explain, choice, among.as_deref(), done);
        deadline.check()?;
        let topics = prediction.topics.into_iter().map(Tag::from).collect();
        let regions = prediction.regions.into_iter().map(Tag::from).collect();
        let gazetteer = self.model.gazetteer();
        let places = prepared
            .places
            .iter()
            .filter_map(|p| {
                let c = gazetteer.country(&p.iso2)?;
                Some(Place {
                    iso2: c.iso2.clone(),
                    name: c.name_en.clone(),
                    mentions: p.mentions,
                    subregion: c.subregion.clone(),
                    region: c.region.clone(),
                })
            })
            .collect();
        done(Stage::Scoring);
        Ok(Classification {
            language: prepared.lang,
            topics,
            regions,
            places,
        })
    }

    /// Picks whole body sentences of a dispatch within `budget`; the title
    /// (the caller's, else the detected headline) guides the choice but is
    /// never chosen.
    pub fn summarize(
        &self,
        title: &str,
        text: &str,
        language: Option<Lang>,
        budget: Budget,
    ) -> Summary {
        self.summarize_within(
            title,
            text,
            language,
            budget,
            &Deadline::none(),
            &mut |_| {},
        )
        .expect("work without a deadline is never stopped")
    }

    /// [`Tagger::summarize`] unless `deadline` passes first (checked
    /// between stages), calling `done` as each stage ends (clean, language,
    /// summary).
    #[tracing::instrument(level = "debug", skip_all, fields(bytes = text.len()))]
    pub fn summarize_within(
        &self,
        title: &str,
        text: &str,
        language: Option<Lang>,
        budget: Budget,
        deadline: &Deadline,
        done: &mut (impl FnMut(Stage) + ?Sized),
    ) -> Result<Summary> {
        deadline.check()?;
        // Not `prepare`: places are not needed here and finding them costs
        // as much as the summary itself. The text is folded as `prepare`
        // folds it, and the chosen sentences' offsets mapped back to the
        // caller's text.
        let folded = text::fold::fold_mapped(text);
        let (title, text) = (text::fold::fold(title.trim()), folded.as_str());
        let cleaned = text::clean(text);
        deadline.check()?;
        done(Stage::Clean);
        let lang = language.unwrap_or_else(|| {
            let both = format!("{title}\n{}", cleaned.body_text(text));
            self.model.detect_language(&both)
        });
        done(Stage::Language);
        deadline.check()?;
        let mut sentences = summarize::summarize(
            text,
            &cleaned,
            lang,
            self.model.as_ref(),
            Some(&title),
            budget,
        );
        for s in &mut sentences {
            (s.start, s.end) = (folded.original(s.start), folded.original(s.end));
        }
        done(Stage::Summary);
        Ok(Summary {
            language: lang,
            sentences,
        })
    }
}

impl From<LabelScore> for Tag {
    fn from(s: LabelScore) -> Tag {
        Tag {
            code: s.code,
            name: s.name,
            score: s.score,
            evidence: s.evidence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::select::chosen;
    use crate::model::select::tests::score;

    #[test]
    fn a_second_topic_is_emitted_when_it_passes_its_dev_tuned_threshold() {
        // A war summit: politics best, and a second topic scored just above,
        // then just below, that label's own threshold in the shipped model.
        let model = crate::model::Model::embedded().unwrap();
        let labels = &model.meta().topics;
        let (thresholds, _) = model.thresholds();
        let politics = labels
            .iter()
            .position(|l| l.code == "medtop:11000000")
            .unwrap();
        let second = (0..labels.len()).find(|&k| k != politics).unwrap();
        let t = thresholds[second];
        assert!(0.0 < t && t < 1.0, "threshold {t}");
        for (score2, emitted) in [((t + 0.01).min(1.0), 2), (t - 0.01, 1)] {
            let mut preds = vec![crate::model::Prediction {
                topics: vec![
                    score(&labels[politics].code, 0.99, false),
                    score(&labels[second].code, score2, false),
                ],
                regions: vec![],
            }];
            model.reselect(&mut preds);
            let tags: Vec<_> = chosen(&preds[0].topics, 3, None).collect();
            assert_eq!(tags.len(), emitted, "second scored {score2}, threshold {t}");
            assert_eq!(tags[0].code, "medtop:11000000");
        }
    }

    #[test]
    fn limits_reject_out_of_range_values_with_a_fix() {
        assert_eq!(label_limit("maxTopics", 0, 3, 20).unwrap(), 3);
        let err = label_limit("maxTopics", 99, 3, 20).unwrap_err().to_string();
        assert!(err.contains("maxTopics is 99"), "{err}");
        assert!(min_score(1.5).is_err());
        assert!(min_score(f32::NAN).is_err());
        assert_eq!(min_score(0.0).unwrap(), None);
        assert_eq!(max_chars(0, MAX_CHARS).unwrap(), 0);
        assert_eq!(max_chars(300, MAX_CHARS).unwrap(), 300);
        let err = max_chars(20_000, MAX_CHARS).unwrap_err().to_string();
        assert!(err.contains("maxChars is 20000"), "{err}");
    }

    #[test]
    fn a_home_country_is_two_letters_in_any_case() {
        assert_eq!(home_country("").unwrap(), None);
        assert_eq!(home_country(" ").unwrap(), None);
        assert_eq!(home_country("ca").unwrap().as_deref(), Some("CA"));
        assert_eq!(home_country(" Fr ").unwrap().as_deref(), Some("FR"));
        for bad in ["FRA", "F", "F1", "é"] {
            let err = home_country(bad).unwrap_err().to_string();
            assert!(
                err.contains("homeCountry") && err.contains("alpha-2"),
                "{err}"
            );
        }
        let err = home_country(&"x".repeat(10_000)).unwrap_err().to_string();
        assert!(err.len() < 150, "{err}");
    }

    fn regions_of(c: &Classification) -> Vec<&str> {
        c.regions.iter().map(|t| t.code.as_str()).collect()
    }

    /// The defaults a caller gets, with a home country or none.
    fn options(home: Option<&str>) -> ClassifyOptions {
        ClassifyOptions {
            language: None,
            max_topics: 3,
            max_regions: 4,
            min_score: None,
            explain: false,
            home_country: home.map(str::to_string),
            candidate_topics: Vec::new(),
        }
    }

    #[test]
    fn a_dispatch_that_names_no_place_is_tagged_with_the_callers_home_country() {
        let tagger = Tagger::new(Arc::new(crate::model::Model::embedded().unwrap()));
        // A French science brief that names no country: the model's own
        // answer is the home region of its French training stories.
        let frog = "Des chercheurs ont découvert une nouvelle espèce de grenouille qui \
                    brille sous la lumière ultraviolette, selon une étude publiée lundi.";
        let plain = tagger.classify("", frog, &options(None));
        assert!(plain.places.is_empty());
        let got = regions_of(&plain);
        assert!(got[..2].contains(&"155") && got.contains(&"150"), "{got:?}");
        // A Canadian desk says so: Northern America and the Americas.
        let canada = tagger.classify("", frog, &options(Some("CA")));
        let got = regions_of(&canada);
        assert!(got.contains(&"021") && got.contains(&"019"), "{got:?}");
        assert!(!got.contains(&"155") && !got.contains(&"150"), "{got:?}");
        assert!(
            canada.places.is_empty(),
            "the home country is not a place named"
        );
        assert_eq!(canada.topics, plain.topics, "topics do not depend on it");
        // A dispatch that names a country keeps its own regions.
        let aleppo = include_str!("../tests/data/aleppo-fr.txt");
        let named = tagger.classify("", aleppo, &options(None));
        let homed = tagger.classify("", aleppo, &options(Some("CA")));
        assert_eq!(homed.regions, named.regions);
        assert_eq!(homed.places[0].iso2, "SY");
    }

    #[test]
    fn soft_hyphens_decomposed_accents_and_references_get_the_tags_of_plain_text() {
        use unicode_normalization::UnicodeNormalization;
        let tagger = Tagger::new(Arc::new(crate::model::Model::embedded().unwrap()));
        let opts = options(None);
        let aleppo = include_str!("../tests/data/aleppo-fr.txt");
        // As a web page hyphenates: a soft hyphen after the third letter
        // of every word of seven letters or more ("syr\u{ad}ienne").
        let hyphenated: String = aleppo
            .split(' ')
            .map(|w| {
                let letters = w.chars().filter(|c| c.is_alphabetic()).count();
                if letters >= 7 && w.chars().take(3).all(char::is_alphabetic) {
                    let cut = w.char_indices().nth(3).map_or(w.len(), |(i, _)| i);
                    format!("{}\u{ad}{}", &w[..cut], &w[cut..])
                } else {
                    w.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        assert!(hyphenated.matches('\u{ad}').count() > 50);
        let decomposed: String = aleppo.nfd().collect();
        assert_ne!(decomposed, aleppo);
        // As a scraper that left HTML character references undecoded.
        let escaped = aleppo.replace('é', "&eacute;").replace('\'', "&#39;");
        let plain = tagger.classify("", aleppo, &opts);
        assert_eq!(plain.places[0].iso2, "SY");
        for text in [&hyphenated, &decomposed, &escaped] {
            assert_eq!(tagger.classify("", text, &opts), plain);
        }
        // The same sentences, at offsets into the text as sent.
        let summary = |text: &str| -> Vec<(usize, String)> {
            let s = tagger.summarize("", text, None, Budget::sentences(3));
            s.sentences
                .iter()
                .map(|c| (c.index, text[c.start..c.end].replace('\u{ad}', "")))
                .collect()
        };
        let expected = summary(aleppo);
        assert_eq!(summary(&hyphenated), expected);
        let composed: Vec<_> = summary(&decomposed)
            .into_iter()
            .map(|(i, s)| (i, s.nfc().collect::<String>()))
            .collect();
        assert_eq!(composed, expected);
        let decoded: Vec<_> = summary(&escaped)
            .into_iter()
            .map(|(i, s)| (i, html_escape::decode_html_entities(&s).into_owned()))
            .collect();
        assert_eq!(decoded, expected);
    }

    #[test]
    fn a_page_scraped_with_its_markup_gets_the_tags_and_summary_of_its_text() {
        let tagger = Tagger::new(Arc::new(crate::model::Model::embedded().unwrap()));
        let opts = options(None);
        let aleppo = include_str!("../tests/data/aleppo-fr.txt");
        let lines: Vec<&str> = aleppo.lines().filter(|l| !l.trim().is_empty()).collect();
        let (nav, headline, caption) = (lines[0], lines[1], lines[2]);
        let (paragraphs, tail) = lines[3..].split_at(lines.len() - 3 - 5);
        let (credit, sizes) = (tail[0], &tail[1..]);
        assert_eq!(credit, "Avec AFP");
        // The article page as a browser gets it: head with title and
        // scripts, navigation, the headline, a figure with its caption,
        // paragraphs with links, the credit, the font-size buttons.
        let mut page = format!(
            "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{headline}</title>\n\
             <script>var page = {{\"teaser\": \"<p>Lire aussi</p>\"}};</script></head>\n\
             <body><nav><a href=\"#main\">{nav}</a></nav>\n<article><header><h1 class=\"title\">{headline}</h1></header>\n\
             <figure><img src=\"/img/1.jpg\" alt=\"\"><figcaption>{caption}</figcaption></figure>\n"
        );
        for p in paragraphs {
            let p = p.replacen(
                "Vladimir Poutine",
                "<a href=\"/tag/poutine\">Vladimir Poutine</a>",
                1,
            );
            page.push_str(&format!("  <p>{p}</p>\n"));
        }
        page.push_str(&format!(
            "<p class=\"credit\"><em>{credit}</em></p></article>\n<div>"
        ));
        for size in sizes {
            page.push_str(&format!("<button>{size}</button>"));
        }
        page.push_str("</div>\n<!-- fin --></body></html>\n");
        assert_eq!(
            tagger.classify("", &page, &opts),
            tagger.classify("", aleppo, &opts)
        );
        // The same sentences, sliced from the page as sent (links and all).
        let summary = |text: &str| -> Vec<(usize, String)> {
            let s = tagger.summarize("", text, None, Budget::sentences(3));
            s.sentence_texts(text)
                .zip(&s.sentences)
                .map(|(t, c)| (c.index, crate::text::fold::fold(t).trim().to_string()))
                .collect()
        };
        let expected = summary(aleppo);
        assert_eq!(expected.len(), 3);
        assert_eq!(summary(&page), expected);
    }

    /// Headlines hold too few function words for detection alone: the
    /// model's vocabulary settles those of French and English, and they get
    /// the answer a caller who sent the language gets, in classification
    /// and summary alike. Headlines in other languages stay "und".
    #[test]
    fn a_headline_without_function_words_gets_its_language_and_the_hinted_answer() {
        let t = Tagger::new(Arc::new(crate::model::Model::embedded().unwrap()));
        for (headline, lang) in [
            ("Chancellor unveils budget tax cuts", Lang::En),
            ("Storm Ciara floods Yorkshire towns", Lang::En),
            ("Unemployment falls below two million", Lang::En),
            ("Grève SNCF : trafic très perturbé lundi", Lang::Fr),
            ("Municipales : victoire écrasante des écologistes", Lang::Fr),
        ] {
            assert_eq!(crate::text::lang::detect(headline), Lang::Und, "{headline}");
            let got = t.classify("", headline, &options(None));
            assert_eq!(got.language, lang, "{headline}");
            let hinted = ClassifyOptions {
                language: Some(lang),
                ..options(None)
            };
            assert_eq!(got, t.classify("", headline, &hinted), "{headline}");
            assert_eq!(
                t.summarize("", headline, None, Budget::sentences(3))
                    .language,
                lang,
                "{headline}"
            );
        }
        for other in [
            "Serikali yatangaza bajeti mpya ya elimu bure",
            "Real Madrid gana la liga tras vencer al Barcelona",
            "Regierung plant Steuererhöhung für Großkonzerne",
            "Pemerintah umumkan kenaikan harga bahan bakar minyak",
            "Gwamnatin Najeriya ta amince da sabon kasafin kudi",
            "Manchester United Liverpool Chelsea Arsenal",
        ] {
            let got = t.classify("", other, &options(None));
            assert_eq!(got.language, Lang::Und, "{other}");
        }
    }

    #[test]
    fn a_dispatch_the_model_cannot_read_gets_no_tags_rather_than_its_priors() {
        let tagger = Tagger::new(Arc::new(crate::model::Model::embedded().unwrap()));
        // Aleppo in Arabic, a Beijing meeting in Chinese, signs only.
        for text in [
            "قالت وزارة الخارجية السورية إن الجيش سيطر على حلب بالكامل",
            "中国国家主席习近平周二在北京会见了法国总统。",
            "!!! ??? ... --- ,,,",
        ] {
            let c = tagger.classify("", text, &options(None));
            assert!(c.topics.is_empty(), "{text}: {:?}", c.topics);
            assert!(c.regions.is_empty(), "{text}: {:?}", c.regions);
            // A desk that says where its copy is from gets that region.
            let homed = tagger.classify("", text, &options(Some("FR")));
            assert!(homed.topics.is_empty());
            let got = regions_of(&homed);
            assert!(got.contains(&"155") && got.contains(&"150"), "{got:?}");
        }
        // One word the model knows is evidence, and so is a place.
        let brexit = tagger.classify("", "Brexit !!!", &options(None));
        assert!(!brexit.topics.is_empty() && !brexit.regions.is_empty());
        let paris = tagger.classify("", "パリ Paris", &options(None));
        assert_eq!(paris.places[0].iso2, "FR");
        let got = regions_of(&paris);
        assert!(got.contains(&"155") && got.contains(&"150"), "{got:?}");
    }

    #[test]
    fn a_home_country_the_model_does_not_know_is_refused() {
        let tagger = Tagger::new(Arc::new(crate::model::Model::embedded().unwrap()));
        let opts = ClassifyOptions {
            language: None,
            max_topics: 3,
            max_regions: 4,
            min_score: None,
            explain: false,
            home_country: Some("ZZ".into()),
            candidate_topics: Vec::new(),
        };
        let err = tagger
            .classify_within("", "Alep", &opts, &Deadline::none(), &mut |_| {})
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        assert!(err.to_string().contains("\"ZZ\""), "{err}");
    }

    #[test]
    fn candidate_topics_are_codes_within_limits() {
        assert!(candidate_topics(&[]).unwrap().is_empty());
        assert_eq!(
            candidate_topics(&[" medtop:15000000 ".into()]).unwrap(),
            ["medtop:15000000"]
        );
        let err = candidate_topics(&["medtop:15000000".into(), "  ".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("candidateTopics[1]"), "{err}");
        let err = candidate_topics(&["x".repeat(10_000)])
            .unwrap_err()
            .to_string();
        assert!(err.len() < 150, "{err}");
        let many = vec!["medtop:15000000".to_string(); MAX_CANDIDATE_TOPICS + 1];
        let err = candidate_topics(&many).unwrap_err().to_string();
        assert!(err.contains("at most 64"), "{err}");
    }

    #[test]
    fn candidate_topics_choose_the_best_of_a_desks_sections() {
        let tagger = Tagger::new(Arc::new(crate::model::Model::embedded().unwrap()));
        let aleppo = include_str!("../tests/data/aleppo-fr.txt");
        let opts = |candidates: &[&str]| ClassifyOptions {
            language: None,
            max_topics: 20,
            max_regions: 4,
            min_score: Some(1e-6),
            explain: false,
            home_country: None,
            candidate_topics: candidates.iter().map(|c| c.to_string()).collect(),
        };
        let all = tagger.classify("", aleppo, &opts(&[]));
        // Every topic as a candidate is no restriction at all.
        let every: Vec<&str> = tagger
            .model()
            .meta()
            .topics
            .iter()
            .map(|l| l.code.as_str())
            .collect();
        assert_eq!(tagger.classify("", aleppo, &opts(&every)), all);
        // A desk with economy and politics: politics, scored as if the
        // model knew those two only, so higher than among all 17; regions
        // and places as before.
        let desk = tagger.classify("", aleppo, &opts(&["medtop:04000000", "medtop:11000000"]));
        let codes: Vec<&str> = desk.topics.iter().map(|t| t.code.as_str()).collect();
        assert_eq!(codes, ["medtop:11000000", "medtop:04000000"]);
        let score = |c: &Classification, code: &str| {
            c.topics.iter().find(|t| t.code == code).map(|t| t.score)
        };
        assert!(
            score(&desk, "medtop:11000000") > score(&all, "medtop:11000000"),
            "{desk:?}"
        );
        assert_eq!(desk.regions, all.regions);
        assert_eq!(desk.places, all.places);
        let err = tagger
            .classify_within(
                "",
                aleppo,
                &opts(&["medtop:11000000", "medtop:99999999"]),
                &Deadline::none(),
                &mut |_| {},
            )
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        assert!(err.to_string().contains("\"medtop:99999999\""), "{err}");
    }

    #[test]
    fn oversized_fields_are_refused_without_being_quoted() {
        let limits = Limits::default();
        let long = "é".repeat(10_000);
        for (id, title, language) in [
            (long.as_str(), "", ""),
            ("", long.as_str(), ""),
            ("", "", long.as_str()),
        ] {
            let err = validate_fields(id, title, language, "Alep", &limits)
                .unwrap_err()
                .to_string();
            assert!(err.contains("bytes; use at most"), "{err}");
            assert!(err.len() < 100, "{err}");
        }
        assert!(validate_fields("a", "Alep", "fr", "Alep", &limits).is_ok());
    }

    #[test]
    fn empty_or_whitespace_text_is_rejected() {
        let limits = Limits::default();
        let message = |text: &str| validate_text(text, &limits).unwrap_err().to_string();
        // An empty text is told so; a blank one is also told why it counts
        // as empty.
        assert_eq!(
            message(""),
            "text is empty: send the body of the dispatch in `text`"
        );
        for blank in [" \n\t", "\u{200b}\u{feff}"] {
            let m = message(blank);
            assert!(
                m.starts_with("text is empty") && m.contains("only whitespace"),
                "{m}"
            );
        }
        assert!(validate_text("Alep", &limits).is_ok());
        let big = "a".repeat(limits.max_text_bytes + 1);
        assert!(matches!(
            validate_text(&big, &limits),
            Err(Error::TooLarge { .. })
        ));
    }
}

/// Summaries of generated scraped pages: whole sentences of the request's
/// text, in order, never repeated, never the boilerplate, within budget.
#[cfg(test)]
mod properties {
    use std::sync::{Arc, OnceLock};

    use proptest::prelude::*;

    use super::*;

    fn tagger() -> &'static Tagger {
        static TAGGER: OnceLock<Tagger> = OnceLock::new();
        TAGGER.get_or_init(|| Tagger::new(Arc::new(Model::embedded().expect("embedded model"))))
    }

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("Liens d'accessibilité".to_string()),
            Just("XS".to_string()),
            Just("Avec AFP".to_string()),
            Just("Le président a salué « une victoire… » à Alep.".to_string()),
            Just("Growth was 1.4 percent, said Mr. Smith. Shares rose.".to_string()),
            Just("Ils ont dit : « Nous restons. » Puis ils sont partis.".to_string()),
            Just("🇫🇷 مرحبا بالعالم. שלום עולם!".to_string()),
            "[A-Z][a-zéèàç]{2,12}( [a-zéèàç]{1,12}){3,15}[.!?]",
            any::<String>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn a_summary_is_whole_distinct_body_sentences_within_budget(
            lines in prop::collection::vec(line(), 0..16),
            sentences in 0usize..6,
            chars in prop_oneof![Just(0usize), 1usize..400],
        ) {
            let text = lines.join("\n");
            let budget = Budget { sentences, chars };
            let summary = tagger().summarize("", &text, None, budget);
            prop_assert!(summary.sentences.len() <= sentences);
            let cleaned = text::clean(&text);
            let mut last = 0;
            let mut seen = Vec::new();
            for c in &summary.sentences {
                prop_assert!(c.start >= last && c.start < c.end && c.end <= text.len());
                prop_assert!(text.is_char_boundary(c.start) && text.is_char_boundary(c.end));
                prop_assert!(
                    cleaned.body().any(|b| b.start <= c.start && c.end <= b.end),
                    "summary sentence outside the body: {:?}", &text[c.start..c.end]
                );
                let s = &text[c.start..c.end];
                prop_assert!(!seen.contains(&s), "repeated: {s:?}");
                seen.push(s);
                last = c.end;
            }
            if chars > 0 {
                prop_assert!(summary.joined(&text).chars().count() <= chars);
            }
        }
    }
}
