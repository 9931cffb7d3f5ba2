//! Proto <-> domain conversions, with request validation: the one request
//! path of both transports. A request is checked into a call
//! ([`classify_request`], [`summarize_request`]), the call runs the core and
//! answers in the response message ([`ClassifyCall::run`],
//! [`SummarizeCall::run`]); the gRPC service and the CLI do just that.

use super::pb;
use crate::Result;
use crate::cutoff::Deadline;
use crate::model::Model;
use crate::summarize::Budget;
use crate::tagger::{self, Classification, ClassifyOptions, Limits, Summary, Tag, Tagger};
use crate::text::Lang;

/// A validated classify request.
pub(crate) struct ClassifyCall {
    pub id: String,
    pub title: String,
    pub text: String,
    pub options: ClassifyOptions,
}

/// A validated summarize request.
pub(crate) struct SummarizeCall {
    pub id: String,
    pub title: String,
    pub text: String,
    pub language: Option<Lang>,
    pub budget: Budget,
}

impl ClassifyCall {
    /// Tags the dispatch with `tagger`'s model, unless `deadline` passes
    /// first.
    pub(crate) fn run(self, tagger: &Tagger, deadline: &Deadline) -> Result<pb::ClassifyResponse> {
        let c = tagger.classify_within(
            &self.title,
            &self.text,
            &self.options,
            deadline,
            &mut |_| {},
        )?;
        Ok(classify_response(
            self.id,
            c,
            &tagger.model().meta().version,
        ))
    }
}

impl SummarizeCall {
    /// Summarizes the dispatch with `tagger`'s model, unless `deadline`
    /// passes first.
    pub(crate) fn run(self, tagger: &Tagger, deadline: &Deadline) -> Result<pb::SummarizeResponse> {
        let s = tagger.summarize_within(
            &self.title,
            &self.text,
            self.language,
            self.budget,
            deadline,
            &mut |_| {},
        )?;
        Ok(summarize_response(self.id, &self.text, s))
    }
}

/// Checks a classify request against `limits`; the error says what to fix.
pub(crate) fn classify_request(req: pb::ClassifyRequest, limits: &Limits) -> Result<ClassifyCall> {
    tagger::validate_fields(&req.id, &req.title, &req.language, &req.text, limits)?;
    let options = ClassifyOptions {
        language: Lang::from_hint(&req.language)?,
        max_topics: tagger::label_limit(
            "maxTopics",
            req.max_topics,
            tagger::DEFAULT_MAX_TOPICS,
            limits.max_labels,
        )?,
        max_regions: tagger::label_limit(
            "maxRegions",
            req.max_regions,
            tagger::DEFAULT_MAX_REGIONS,
            limits.max_labels,
        )?,
        min_score: tagger::min_score(req.min_score)?,
        explain: req.explain,
        home_country: tagger::home_country(&req.home_country)?,
        candidate_topics: tagger::candidate_topics(&req.candidate_topics)?,
    };
    Ok(ClassifyCall {
        id: req.id,
        title: req.title,
        text: req.text,
        options,
    })
}

/// Checks a summarize request against `limits`; the error says what to fix.
pub(crate) fn summarize_request(
    req: pb::SummarizeRequest,
    limits: &Limits,
) -> Result<SummarizeCall> {
    tagger::validate_fields(&req.id, &req.title, &req.language, &req.text, limits)?;
    Ok(SummarizeCall {
        language: Lang::from_hint(&req.language)?,
        budget: Budget {
            sentences: tagger::label_limit(
                "maxSentences",
                req.max_sentences,
                tagger::DEFAULT_MAX_SENTENCES,
                limits.max_sentences,
            )?,
            chars: tagger::max_chars(req.max_chars, limits.max_chars)?,
        },
        id: req.id,
        title: req.title,
        text: req.text,
    })
}

fn tag(t: Tag) -> pb::Tag {
    pb::Tag {
        code: t.code,
        name: t.name,
        score: t.score,
        evidence: t
            .evidence
            .into_iter()
            .map(|(term, weight)| pb::Evidence { term, weight })
            .collect(),
    }
}

fn classify_response(id: String, c: Classification, model_version: &str) -> pb::ClassifyResponse {
    pb::ClassifyResponse {
        id,
        language: c.language.code().to_string(),
        topics: c.topics.into_iter().map(tag).collect(),
        regions: c.regions.into_iter().map(tag).collect(),
        places: c
            .places
            .into_iter()
            .map(|p| pb::Place {
                country_code: p.iso2,
                name: p.name,
                mentions: p.mentions,
                subregion_code: p.subregion,
                region_code: p.region,
            })
            .collect(),
        model_version: model_version.to_string(),
    }
}

fn summarize_response(id: String, text: &str, s: Summary) -> pb::SummarizeResponse {
    let sentences = s
        .sentences
        .iter()
        .zip(s.sentence_texts(text))
        .map(|(c, sentence)| pb::Sentence {
            text: sentence.to_string(),
            index: u32::try_from(c.index).unwrap_or(u32::MAX),
            score: c.score,
            start: u32::try_from(c.start).unwrap_or(u32::MAX),
            end: u32::try_from(c.end).unwrap_or(u32::MAX),
        })
        .collect();
    pb::SummarizeResponse {
        id,
        language: s.language.code().to_string(),
        summary: s.joined(text),
        sentences,
    }
}

pub(crate) fn model_info(model: &Model) -> pb::GetModelInfoResponse {
    let meta = model.meta();
    let label = |l: &crate::model::Label| pb::Label {
        code: l.code.clone(),
        name: l.name.clone(),
    };
    pb::GetModelInfoResponse {
        version: meta.version.clone(),
        topics: meta.topics.iter().map(label).collect(),
        regions: meta.regions.iter().map(label).collect(),
        vocabulary_size: meta.vocabulary_size,
        corpora: meta
            .corpora
            .iter()
            .map(|c| pb::Corpus {
                name: c.name.clone(),
                documents: c.documents,
                licence: c.licence.clone(),
            })
            .collect(),
        metrics: meta
            .metrics
            .iter()
            .map(|m| pb::Metric {
                split: m.split.clone(),
                task: m.task.clone(),
                name: m.name.clone(),
                value: m.value,
            })
            .collect(),
        format_version: meta.format_version,
        recipe: meta.recipe.clone(),
        topic_sources: meta
            .topic_sources
            .iter()
            .map(|s| pb::TopicSource {
                code: s.code.clone(),
                language: s.language.clone(),
                labelled_records: s.labelled,
                vocabulary_entries: s.vocabulary,
                corpora: s.corpora.clone(),
                keyword_records: s.keyword,
            })
            .collect(),
    }
}

// A ClassifyStream message has the fields and numbers of its unary
// counterpart (the contract keeps them alike), so one request path serves
// both and a Rust client can build either from the other.
impl From<pb::ClassifyStreamRequest> for pb::ClassifyRequest {
    fn from(r: pb::ClassifyStreamRequest) -> Self {
        pb::ClassifyRequest {
            id: r.id,
            title: r.title,
            text: r.text,
            language: r.language,
            max_topics: r.max_topics,
            max_regions: r.max_regions,
            min_score: r.min_score,
            explain: r.explain,
            home_country: r.home_country,
            candidate_topics: r.candidate_topics,
        }
    }
}

impl From<pb::ClassifyResponse> for pb::ClassifyStreamResponse {
    fn from(r: pb::ClassifyResponse) -> Self {
        pb::ClassifyStreamResponse {
            id: r.id,
            language: r.language,
            topics: r.topics,
            regions: r.regions,
            places: r.places,
            model_version: r.model_version,
        }
    }
}

impl From<pb::ClassifyRequest> for pb::ClassifyStreamRequest {
    fn from(r: pb::ClassifyRequest) -> Self {
        pb::ClassifyStreamRequest {
            id: r.id,
            title: r.title,
            text: r.text,
            language: r.language,
            max_topics: r.max_topics,
            max_regions: r.max_regions,
            min_score: r.min_score,
            explain: r.explain,
            home_country: r.home_country,
            candidate_topics: r.candidate_topics,
        }
    }
}

impl From<pb::ClassifyStreamResponse> for pb::ClassifyResponse {
    fn from(r: pb::ClassifyStreamResponse) -> Self {
        pb::ClassifyResponse {
            id: r.id,
            language: r.language,
            topics: r.topics,
            regions: r.regions,
            places: r.places,
            model_version: r.model_version,
        }
    }
}
