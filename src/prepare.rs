//! The one "prepare a dispatch" step that serving, evaluation and training
//! share: cleaning, language, places, and the view the model reads.

use crate::geo::{Gazetteer, PlaceCount};
use crate::model::features::TfIdf;
use crate::stage::Stage;
use crate::text::{self, Lang};

/// What the model reads of one prepared dispatch.
#[derive(Debug, Clone, Copy)]
pub struct ModelInput<'a> {
    /// Language of the dispatch.
    pub lang: Lang,
    /// Headline (given or found at the top of the text), may be empty.
    pub title: &'a str,
    /// Cleaned body text.
    pub body: &'a str,
    /// Countries named in title and body.
    pub places: &'a [PlaceCount],
}

/// A dispatch after cleaning, language settling and place finding: the one
/// form that both training and serving feed the model, so features match.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Language given or detected.
    pub lang: Lang,
    /// The caller's title, or the headline found at the top of the text.
    pub title: String,
    /// Body text with boilerplate, captions and the headline removed.
    pub body: String,
    /// Countries named in title and body, most mentioned first.
    pub places: Vec<PlaceCount>,
}

impl Prepared {
    /// The view of this dispatch that the model reads.
    pub fn input(&self) -> ModelInput<'_> {
        ModelInput {
            lang: self.lang,
            title: &self.title,
            body: &self.body,
            places: &self.places,
        }
    }
}

/// Cleans `text`, settles the language (the hint wins) and finds places.
#[tracing::instrument(level = "debug", skip_all, fields(bytes = text.len()))]
pub fn prepare(title: &str, text: &str, hint: Option<Lang>, gazetteer: &Gazetteer) -> Prepared {
    prepare_observed(title, text, hint, None, gazetteer, &mut |_| {})
}

/// [`prepare`], calling `done` as each stage ends (clean, language, places);
/// with a model's `vocabulary`, detection asks it about a text whose
/// function words leave the language unsettled ([`text::lang::detect_with`]).
pub fn prepare_observed(
    title: &str,
    text: &str,
    hint: Option<Lang>,
    vocabulary: Option<&TfIdf>,
    gazetteer: &Gazetteer,
    done: &mut (impl FnMut(Stage) + ?Sized),
) -> Prepared {
    // Soft hyphens, combining accents and character references are folded
    // out of the words before anything reads them (`text::fold`).
    let (title, text) = (text::fold::fold(title), text::fold::fold(text));
    let (title, text) = (title.as_ref(), text.as_ref());
    let cleaned = text::clean(text);
    let title = if title.trim().is_empty() {
        cleaned.headline().map(|r| &text[r]).unwrap_or("")
    } else {
        title.trim()
    }
    .to_string();
    let body = cleaned.body_text(text);
    // Sized for the datelines pushed below, so it is allocated once.
    let datelines: usize = cleaned.datelines().map(|r| r.len() + 1).sum();
    let mut both = String::with_capacity(title.len() + 1 + body.len() + datelines);
    both.push_str(&title);
    both.push('\n');
    both.push_str(&body);
    done(Stage::Clean);
    let lang = hint.unwrap_or_else(|| {
        text::lang::detect_with(&both, |sample| vocabulary?.language_of(sample))
    });
    done(Stage::Language);
    // Places also come from the dateline ("PARIS (Reuters) -"), which the
    // body leaves out.
    let mut where_ = both;
    for r in cleaned.datelines() {
        where_.push('\n');
        where_.push_str(&text[r]);
    }
    let places = gazetteer.places(&where_);
    done(Stage::Places);
    Prepared {
        lang,
        title,
        body,
        places,
    }
}
