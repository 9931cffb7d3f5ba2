//! The summarizer on arbitrary text, title, language and budget: no panic,
//! and the summary is whole sentences of the text, in order, never repeated,
//! within the budget.
#![no_main]

use std::sync::{Arc, OnceLock};

use dispatch_tagger::model::Model;
use dispatch_tagger::summarize::Budget;
use dispatch_tagger::tagger::Tagger;
use dispatch_tagger::text::Lang;
use libfuzzer_sys::fuzz_target;

fn tagger() -> &'static Tagger {
    static TAGGER: OnceLock<Tagger> = OnceLock::new();
    TAGGER.get_or_init(|| Tagger::new(Arc::new(Model::embedded().expect("embedded model"))))
}

fuzz_target!(|data: &[u8]| {
    // First bytes choose the options, the rest is "title\0text".
    if data.len() < 3 {
        return;
    }
    let language = [None, Some(Lang::Fr), Some(Lang::En), Some(Lang::Und)][usize::from(data[0] % 4)];
    let sentences = usize::from(data[1] % 8);
    let chars = usize::from(data[2]) * 4;
    let rest = String::from_utf8_lossy(&data[3..]);
    let (title, text) = rest.split_once('\0').unwrap_or(("", rest.as_ref()));
    let budget = Budget { sentences, chars };
    let summary = tagger().summarize(title, text, language, budget);
    assert!(summary.sentences.len() <= sentences);
    let mut last_end = 0;
    let mut seen = Vec::new();
    for c in &summary.sentences {
        assert!(c.start >= last_end && c.start < c.end && c.end <= text.len());
        assert!(text.is_char_boundary(c.start) && text.is_char_boundary(c.end));
        let s = &text[c.start..c.end];
        assert!(!seen.contains(&s), "sentence repeated");
        seen.push(s);
        last_end = c.end;
    }
    if chars > 0 {
        assert!(summary.joined(text).chars().count() <= chars, "over the budget");
    }
});
