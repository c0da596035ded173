//! Blocks: code blocks, quotes, headers, subtext, lists and paragraphs.

use super::{escape_into, Names};

pub(super) struct Renderer<'o, 'n, 'a> {
    pub(super) out: &'o mut String,
    pub(super) names: &'n Names<'a>,
}

fn is_list_line(line: &str) -> Option<(usize, &str)> {
    let trimmed = line.trim_start_matches(' ');
    let indent = line.len() - trimmed.len();
    let rest = trimmed
        .strip_prefix("- ")
        .or_else(|| trimmed.strip_prefix("* "))?;
    (!rest.trim().is_empty()).then_some(((indent / 2).min(3), rest))
}

fn is_ordered_line(line: &str) -> Option<(u64, &str)> {
    let digits = line.bytes().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let rest = line[digits..].strip_prefix(". ")?;
    (!rest.trim().is_empty()).then(|| (line[..digits].parse().unwrap_or(1), rest))
}

fn header_line(line: &str) -> Option<(u8, &str)> {
    let (level, rest) = if let Some(r) = line.strip_prefix("### ") {
        (3, r)
    } else if let Some(r) = line.strip_prefix("## ") {
        (2, r)
    } else if let Some(r) = line.strip_prefix("# ") {
        (1, r)
    } else {
        return None;
    };
    (!rest.trim().is_empty()).then_some((level, rest.trim()))
}

fn quote_line(line: &str) -> Option<&str> {
    if line == ">" {
        Some("")
    } else {
        line.strip_prefix("> ")
    }
}

/// Length of a `>>> ` prefix starting a quote that runs to the end.
fn block_quote_start(line: &str) -> Option<usize> {
    if line == ">>>" {
        Some(3)
    } else {
        line.starts_with(">>> ").then_some(4)
    }
}

/// Finds a ```` ``` ```` code block starting at `from`: (start, end, lang, body).
fn find_code_block(s: &str, from: usize) -> Option<(usize, usize, &str, &str)> {
    let mut search = from;
    loop {
        let open = search + s[search..].find("```")?;
        let body_start = open + 3;
        let close = match s[body_start..].find("```") {
            Some(c) => body_start + c,
            None => return None,
        };
        let mut inner = &s[body_start..close];
        let mut lang = "";
        if let Some(nl) = inner.find('\n') {
            let first = &inner[..nl];
            if !first.is_empty()
                && first.len() <= 32
                && first
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_+-.#".contains(&b))
                && !inner[nl + 1..].trim().is_empty()
            {
                lang = first;
                inner = &inner[nl + 1..];
            }
        }
        let body = inner.trim_start_matches('\n').trim_end_matches('\n');
        if body.trim().is_empty() {
            // "``````" or only whitespace: not a code block; look further on.
            search = open + 1;
            continue;
        }
        return Some((open, close + 3, lang, body));
    }
}

impl Renderer<'_, '_, '_> {
    pub(super) fn document(&mut self, src: &str) {
        let mut pos = 0;
        while let Some((start, end, lang, body)) = find_code_block(src, pos) {
            self.blocks(&src[pos..start], 0);
            self.out.push_str("<pre class=\"codeblock\"><code");
            if !lang.is_empty() {
                self.out.push_str(" data-lang=\"");
                escape_into(self.out, lang);
                self.out.push('"');
            }
            self.out.push('>');
            escape_into(self.out, body);
            self.out.push_str("</code></pre>");
            pos = end;
            // The newline after a block belongs to it.
            if src[pos..].starts_with('\n') {
                pos += 1;
            }
        }
        self.blocks(&src[pos..], 0);
    }

    /// Line blocks of a text without code blocks. `depth` > 0 inside quotes (which do not
    /// nest in Discord).
    fn blocks(&mut self, text: &str, depth: usize) {
        if text.is_empty() {
            return;
        }
        let text = text.strip_suffix('\n').unwrap_or(text);
        let lines: Vec<&str> = text.split('\n').collect();
        let mut i = 0;
        // Start (byte offset) of the pending paragraph and its end.
        let mut para: Option<(usize, usize)> = None;
        let offset_of = |line: &str| line.as_ptr() as usize - text.as_ptr() as usize;
        while i < lines.len() {
            let line = lines[i];
            if depth == 0 {
                if let Some(prefix) = block_quote_start(line) {
                    self.flush_para(text, &mut para);
                    let start = (offset_of(line) + prefix).min(text.len());
                    self.out.push_str("<blockquote>");
                    self.blocks(&text[start..], depth + 1);
                    self.out.push_str("</blockquote>");
                    return;
                }
                if quote_line(line).is_some() {
                    self.flush_para(text, &mut para);
                    let mut joined = String::new();
                    while i < lines.len() {
                        match quote_line(lines[i]) {
                            Some(q) => {
                                if !joined.is_empty() {
                                    joined.push('\n');
                                }
                                joined.push_str(q);
                                i += 1;
                            }
                            None => break,
                        }
                    }
                    self.out.push_str("<blockquote>");
                    if joined.is_empty() {
                        self.out.push_str("<br>");
                    } else {
                        self.blocks(&joined, depth + 1);
                    }
                    self.out.push_str("</blockquote>");
                    continue;
                }
            }
            if let Some((level, rest)) = header_line(line) {
                self.flush_para(text, &mut para);
                let tag = ["h1", "h2", "h3"][usize::from(level - 1)];
                self.out.push('<');
                self.out.push_str(tag);
                self.out.push('>');
                self.inline(rest, 0, true);
                self.out.push_str("</");
                self.out.push_str(tag);
                self.out.push('>');
                i += 1;
                continue;
            }
            if let Some(rest) = line.strip_prefix("-# ").filter(|r| !r.trim().is_empty()) {
                self.flush_para(text, &mut para);
                self.out.push_str("<div class=\"subtext\">");
                self.inline(rest, 0, true);
                self.out.push_str("</div>");
                i += 1;
                continue;
            }
            if is_list_line(line).is_some() {
                self.flush_para(text, &mut para);
                self.out.push_str("<ul>");
                while let Some((level, rest)) = lines.get(i).and_then(|l| is_list_line(l)) {
                    if level > 0 {
                        self.out.push_str("<li class=\"l");
                        self.out.push(char::from(b'0' + level as u8));
                        self.out.push_str("\">");
                    } else {
                        self.out.push_str("<li>");
                    }
                    self.inline(rest, 0, true);
                    self.out.push_str("</li>");
                    i += 1;
                }
                self.out.push_str("</ul>");
                continue;
            }
            if let Some((start, _)) = is_ordered_line(line) {
                self.flush_para(text, &mut para);
                if start == 1 {
                    self.out.push_str("<ol>");
                } else {
                    self.out.push_str("<ol start=\"");
                    self.out.push_str(&start.to_string());
                    self.out.push_str("\">");
                }
                while let Some((_, rest)) = lines.get(i).and_then(|l| is_ordered_line(l)) {
                    self.out.push_str("<li>");
                    self.inline(rest, 0, true);
                    self.out.push_str("</li>");
                    i += 1;
                }
                self.out.push_str("</ol>");
                continue;
            }
            // A plain line: part of the paragraph.
            let start = offset_of(line);
            let end = start + line.len();
            para = Some(match para {
                Some((s, _)) => (s, end),
                None => (start, end),
            });
            i += 1;
        }
        self.flush_para(text, &mut para);
    }

    fn flush_para(&mut self, text: &str, para: &mut Option<(usize, usize)>) {
        if let Some((s, e)) = para.take() {
            self.inline(&text[s..e], 0, true);
        }
    }
}
