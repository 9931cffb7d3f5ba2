//! The cleaner, sentence splitter and word tokenizer on arbitrary text:
//! no panic, and every range they return is inside the text, on UTF-8
//! boundaries, in order and not overlapping.
#![no_main]

use dispatch_tagger::text::{self, Lang, sentences, words};
use libfuzzer_sys::fuzz_target;

fn check_range(text: &str, start: usize, end: usize, what: &str) {
    assert!(start <= end && end <= text.len(), "{what} {start}..{end} outside {}", text.len());
    assert!(
        text.is_char_boundary(start) && text.is_char_boundary(end),
        "{what} {start}..{end} splits a character"
    );
}

fuzz_target!(|data: &[u8]| {
    // Invalid UTF-8 never reaches the core (the gRPC layer rejects it), so
    // the lossy form is what a caller could send.
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    let cleaned = text::clean(text);
    let mut last_end = 0;
    for s in &cleaned.segments {
        check_range(text, s.start, s.end, "segment");
        assert!(s.start >= last_end, "segments overlap");
        last_end = s.end;
    }
    let body = cleaned.body_text(text);
    let _ = text::lang::detect(&body);
    for range in cleaned.body() {
        for lang in [Lang::Fr, Lang::En, Lang::Und] {
            let mut last = range.start;
            for s in sentences::split(text, range.clone(), lang) {
                check_range(text, s.start, s.end, "sentence");
                assert!(s.start >= last && s.end <= range.end, "sentence out of order");
                last = s.end;
            }
        }
    }
    for t in words::tokens(text) {
        check_range(text, t.start, t.end, "token");
        assert_eq!(&text[t.start..t.end], t.text);
        let _ = words::normalize(t.text);
    }
});
