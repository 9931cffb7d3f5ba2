//! The stages of a classify or summarize call, named for the profiling hook
//! that benchmarks read the stage split with.

/// One stage of the request path, reported when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Boilerplate removal, headline and body text.
    Clean,
    /// The language hint or detection.
    Language,
    /// Gazetteer scan for countries.
    Places,
    /// The sparse TF-IDF and place row.
    Features,
    /// Label scores, calibration, selection and the answer's tags.
    Scoring,
    /// Sentence analysis and selection of the summarizer.
    Summary,
}

impl Stage {
    /// Every stage, in request order.
    pub const ALL: [Stage; 6] = [
        Stage::Clean,
        Stage::Language,
        Stage::Places,
        Stage::Features,
        Stage::Scoring,
        Stage::Summary,
    ];

    /// Lowercase name, as the bench prints it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Clean => "clean",
            Stage::Language => "language",
            Stage::Places => "places",
            Stage::Features => "features",
            Stage::Scoring => "scoring",
            Stage::Summary => "summary",
        }
    }
}
