//! HTML markup a scraper left in a dispatch: which `<...>` runs are tags,
//! and what each does to the text around it.
//!
//! Written by hand rather than with an HTML parser: a parser builds a tree
//! and gives back text without the byte offsets that summaries are sliced
//! with, and it would read `<INFD>` or `a < b` in plain copy as markup. Here
//! only the tags of the HTML elements named below count, each found where
//! it stands, so that [`super::fold`] can drop them and map every offset
//! back to the caller's text.

/// What a tag does to the text around it once it is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Inline markup (`<b>`, `<a href="...">`, a comment): the words around
    /// it run on.
    Inline,
    /// A line break (`<br>`, a table cell).
    Line,
    /// A paragraph break (`<p>`, `<div>`, `<h1>`, `<li>`).
    Block,
    /// An element that holds no story text (`<script>`, `<nav>`,
    /// `<figcaption>`), dropped with what it holds: a paragraph break.
    Skip,
}

/// What the element `name` (lowercase ASCII) does; `None` for a name that
/// is not one of the HTML elements scraped pages carry.
fn effect_of(name: &[u8]) -> Option<Effect> {
    Some(match name {
        b"a" | b"abbr" | b"b" | b"bdi" | b"bdo" | b"cite" | b"code" | b"del" | b"em" | b"font"
        | b"i" | b"img" | b"ins" | b"kbd" | b"link" | b"mark" | b"meta" | b"picture" | b"q"
        | b"s" | b"small" | b"source" | b"span" | b"strike" | b"strong" | b"sub" | b"sup"
        | b"time" | b"u" | b"wbr" => Effect::Inline,
        b"br" | b"td" | b"th" | b"dt" | b"dd" => Effect::Line,
        b"address" | b"article" | b"blockquote" | b"body" | b"center" | b"dl" | b"div"
        | b"figure" | b"h1" | b"h2" | b"h3" | b"h4" | b"h5" | b"h6" | b"header" | b"hr"
        | b"html" | b"li" | b"main" | b"ol" | b"p" | b"pre" | b"section" | b"table" | b"tbody"
        | b"thead" | b"tfoot" | b"title" | b"tr" | b"ul" => Effect::Block,
        b"aside" | b"button" | b"figcaption" | b"footer" | b"form" | b"head" | b"iframe"
        | b"nav" | b"noscript" | b"object" | b"script" | b"select" | b"style" | b"svg"
        | b"template" | b"video" | b"audio" | b"canvas" => Effect::Skip,
        _ => return None,
    })
}

/// Longest tag name of [`effect_of`].
const MAX_NAME: usize = 10;

/// Longest tag read, attributes included: a `<` with no `>` this close
/// after it opens no tag.
const MAX_TAG: usize = 4096;

/// Finds the tags of one text. Each search resumes where the last one of
/// its kind stopped, so finding every tag of a text reads it a bounded
/// number of times, whatever it holds (an endless `<a <a <a`, a `<script>`
/// that never closes).
#[derive(Debug)]
pub(crate) struct Tags<'a> {
    bytes: &'a [u8],
    /// The first `>` at or after some offset: `(offset, found)`.
    gt: Search,
    /// The first comment end `-->` at or after some offset.
    comment_end: Search,
    /// Per skipped element, the first `</name` at or after some offset.
    closes: Vec<(&'a [u8], Search)>,
}

impl<'a> Tags<'a> {
    pub fn new(text: &'a str) -> Tags<'a> {
        Tags {
            bytes: text.as_bytes(),
            gt: NOT_SEARCHED,
            comment_end: NOT_SEARCHED,
            closes: Vec::new(),
        }
    }

    /// The tag (or comment, or whole skipped element) that starts at byte
    /// `at`: its length in bytes and its effect; `None` unless `at` holds a
    /// `<` that opens one.
    pub fn at(&mut self, at: usize) -> Option<(usize, Effect)> {
        let rest = self.bytes.get(at..)?;
        if rest.first() != Some(&b'<') {
            return None;
        }
        crate::work::add(1);
        if rest.starts_with(b"<!--") {
            let end = self.comment_end(at + 4)?;
            return Some((end + 3 - at, Effect::Inline));
        }
        if rest.len() > 9 && rest[..9].eq_ignore_ascii_case(b"<!doctype") {
            let gt = self.gt(at + 9).filter(|&gt| gt - at <= MAX_TAG)?;
            return Some((gt + 1 - at, Effect::Block));
        }
        let closing = rest.get(1) == Some(&b'/');
        let name_start = at + 1 + usize::from(closing);
        let name_len = self
            .bytes
            .get(name_start..)?
            .iter()
            .take(MAX_NAME + 1)
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if name_len == 0 || name_len > MAX_NAME || !self.bytes[name_start].is_ascii_alphabetic() {
            return None;
        }
        let after = *self.bytes.get(name_start + name_len)?;
        if !(after == b'>' || after == b'/' || after.is_ascii_whitespace()) {
            return None;
        }
        let mut name = [0u8; MAX_NAME];
        for (n, b) in name
            .iter_mut()
            .zip(&self.bytes[name_start..name_start + name_len])
        {
            *n = b.to_ascii_lowercase();
        }
        let name = &name[..name_len];
        let effect = effect_of(name)?;
        let gt = self.gt(name_start + name_len)?;
        // A tag holds no other "<" and ends near where it starts.
        if gt - at > MAX_TAG {
            return None;
        }
        crate::work::add(gt - at);
        if memchr::memchr(b'<', &self.bytes[at + 1..gt]).is_some() {
            return None;
        }
        // Attributes are `name=value` pairs: "<I P Sharp Associates Ltd>"
        // is a Reuters company name, not a tag.
        let attributes = &self.bytes[name_start + name_len..gt];
        if attributes
            .iter()
            .any(|b| !b.is_ascii_whitespace() && *b != b'/')
            && !attributes.contains(&b'=')
        {
            return None;
        }
        let tag_end = gt + 1;
        if effect != Effect::Skip || closing || self.bytes[gt - 1] == b'/' {
            let effect = if effect == Effect::Skip {
                Effect::Block
            } else {
                effect
            };
            return Some((tag_end - at, effect));
        }
        // The element with what it holds, through its closing tag; an
        // element that never closes loses only its opening tag.
        let name = &self.bytes[name_start..name_start + name_len];
        let Some(close) = self.close(name, tag_end) else {
            return Some((tag_end - at, Effect::Block));
        };
        let end = self.gt(close).map_or(self.bytes.len(), |gt| gt + 1);
        Some((end - at, Effect::Skip))
    }

    /// The first `>` at or after `from`.
    fn gt(&mut self, from: usize) -> Option<usize> {
        let bytes = self.bytes;
        cached(&mut self.gt, bytes.len(), from, || {
            memchr::memchr(b'>', bytes.get(from..)?).map(|i| from + i)
        })
    }

    /// The first `-->` at or after `from`.
    fn comment_end(&mut self, from: usize) -> Option<usize> {
        let bytes = self.bytes;
        cached(&mut self.comment_end, bytes.len(), from, || {
            memchr::memmem::find(bytes.get(from..)?, b"-->").map(|i| from + i)
        })
    }

    /// The first closing tag of element `name` (as written) at or after
    /// `from`, case aside: the offset of its `<`.
    fn close(&mut self, name: &'a [u8], from: usize) -> Option<usize> {
        let bytes = self.bytes;
        let k = match self
            .closes
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(k) => k,
            None => {
                self.closes.push((name, NOT_SEARCHED));
                self.closes.len() - 1
            }
        };
        cached(&mut self.closes[k].1, bytes.len(), from, || {
            memchr::memmem::find_iter(bytes.get(from..)?, b"</")
                .map(|i| from + i)
                .find(|&i| {
                    let n = &bytes[i + 2..];
                    n.len() > name.len()
                        && n[..name.len()].eq_ignore_ascii_case(name)
                        && !n[name.len()].is_ascii_alphanumeric()
                })
        })
    }
}

/// A search made from an offset, and the first match it found there.
type Search = (usize, Option<usize>);

/// A search not made yet.
const NOT_SEARCHED: Search = (usize::MAX, None);

/// The first match at or after `from`, by `search` (which looks from
/// `from`) unless `cache` (a search from an earlier offset and what it
/// found) already answers it: a match not yet passed, or none at all.
fn cached(
    cache: &mut Search,
    text_len: usize,
    from: usize,
    search: impl FnOnce() -> Option<usize>,
) -> Option<usize> {
    let (searched, found) = *cache;
    let answers = searched != usize::MAX && from >= searched && found.is_none_or(|f| f >= from);
    if !answers {
        let found = search();
        // What the search read: up to the match, or to the end (`text_len`).
        crate::work::add(found.unwrap_or(text_len).saturating_sub(from));
        *cache = (from, found);
    }
    cache.1
}

/// Whether `text` is marked up: it holds a closing tag of
/// [`effect_of`]'s elements, a comment, a doctype or a tag with an
/// attribute (`<a href="...">`). A tag alone is not enough: Reuters copy
/// writes tickers as `<P>` and `<I>`, some Wikinews leads open with a
/// stray `<BR>`, and neither is ever closed.
pub(crate) fn holds_markup(text: &str) -> bool {
    let mut tags = Tags::new(text);
    memchr::memchr_iter(b'<', text.as_bytes()).any(|i| {
        tags.at(i).is_some_and(|(len, effect)| {
            let tag = &text.as_bytes()[i..i + len];
            tag.starts_with(b"</")
                || tag.starts_with(b"<!")
                || effect == Effect::Skip
                || tag.contains(&b'=')
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(text: &str) -> Option<(&str, Effect)> {
        let at = text.find('<')?;
        Tags::new(text)
            .at(at)
            .map(|(len, effect)| (&text[at..at + len], effect))
    }

    #[test]
    fn html_tags_are_found_with_their_effect() {
        for (text, tag, effect) in [
            ("a <b>mot</b>", "<b>", Effect::Inline),
            (
                r#"x <a href="https://ex.com/a?b=1">lien</a>"#,
                r#"<a href="https://ex.com/a?b=1">"#,
                Effect::Inline,
            ),
            ("fin.</P>Suite", "</P>", Effect::Block),
            ("ligne<br/>suite", "<br/>", Effect::Line),
            ("<H1 class=\"t\">Titre", "<H1 class=\"t\">", Effect::Block),
            ("a <!-- pub --> b", "<!-- pub -->", Effect::Inline),
            ("<!DOCTYPE html>\n<html>", "<!DOCTYPE html>", Effect::Block),
            (
                "<script>var a = '<p>';</SCRIPT> texte",
                "<script>var a = '<p>';</SCRIPT>",
                Effect::Skip,
            ),
            (
                "<figcaption>Photo AFP</figcaption>Texte",
                "<figcaption>Photo AFP</figcaption>",
                Effect::Skip,
            ),
        ] {
            assert_eq!(first(text), Some((tag, effect)), "{text:?}");
        }
        // A skipped element that never closes loses only its tag.
        assert_eq!(first("<nav>Accueil"), Some(("<nav>", Effect::Block)));
    }

    #[test]
    fn angle_brackets_of_plain_copy_are_not_tags() {
        for text in [
            "<INFD> 4TH QTR NET",
            "SHR <IBM> 12 CTS",
            "a < b et c > d",
            "x <= 3",
            "<p",
            "<p <b>",
            "<!-- jamais fermé",
            "<pre-sale> offer",
            "<I P Sharp Associates Ltd> of Toronto",
            "<B and R International\nInc.>",
            "<<>>",
            "",
        ] {
            let found = memchr::memchr_iter(b'<', text.as_bytes())
                .filter_map(|i| Tags::new(text).at(i).map(|(len, _)| &text[i..i + len]))
                .collect::<Vec<_>>();
            let want: Vec<&str> = if text == "<p <b>" {
                vec!["<b>"]
            } else {
                vec![]
            };
            assert_eq!(found, want, "{text:?}");
        }
        assert!(!holds_markup("Reuters: <INFD> SHR 12 CTS VS 10 CTS"));
        // Reuters tickers look like tags but are never closed.
        assert!(!holds_markup(
            "BARNES GROUP <B> EXPECTS SALES. Phillips Petroleum <P> and <I P Sharp Associates Ltd> said.<BR>"
        ));
        for page in [
            "Texte<br>suite</p>",
            "<p class=\"x\">Texte",
            "<!-- pub --> Texte",
            "<!DOCTYPE html> Texte",
            "<script>x</script> Texte",
        ] {
            assert!(holds_markup(page), "{page:?}");
        }
    }
}
