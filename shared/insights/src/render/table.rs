//! Aligned tables, as text and as HTML.

use std::fmt::Write;

/// A table: a header row and rows of cells. Columns after the first are right-aligned
/// (numbers) unless marked as text.
pub(crate) struct Table {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
    left: Vec<bool>,
}

impl Table {
    pub fn new(head: &[&str]) -> Self {
        let mut left = vec![false; head.len()];
        if let Some(first) = left.first_mut() {
            *first = true;
        }
        Table {
            head: head.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            left,
        }
    }

    /// Left-aligns column `i` (text).
    pub fn text_column(mut self, i: usize) -> Self {
        if let Some(l) = self.left.get_mut(i) {
            *l = true;
        }
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Columns padded to their widest cell, two spaces apart, each line indented by two.
    pub fn text(&self) -> String {
        let n = self.head.len();
        let mut widths = vec![0; n];
        for row in std::iter::once(&self.head).chain(&self.rows) {
            for (i, cell) in row.iter().enumerate().take(n) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.head).chain(&self.rows) {
            let mut line = String::from(" ");
            for (i, w) in widths.iter().enumerate() {
                let cell = row.get(i).map_or("", String::as_str);
                let pad = w - cell.chars().count().min(*w);
                line.push(' ');
                if self.left[i] {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', pad));
                } else {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(cell);
                }
                line.push(' ');
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out
    }

    /// An HTML table, every cell escaped.
    pub fn html(&self) -> String {
        let mut out = String::from("<table><thead><tr>");
        for (i, h) in self.head.iter().enumerate() {
            let _ = write!(out, "<th{}>{}</th>", align(self.left[i]), escape(h));
        }
        out.push_str("</tr></thead><tbody>");
        for row in &self.rows {
            out.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let left = self.left.get(i).copied().unwrap_or(true);
                let _ = write!(out, "<td{}>{}</td>", align(left), escape(cell));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>\n");
        out
    }
}

fn align(left: bool) -> &'static str {
    if left {
        ""
    } else {
        " class=\"n\""
    }
}

/// Text made safe for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_columns_align() {
        let mut t = Table::new(&["stage", "leads"]);
        t.row(vec!["mql".into(), "7".into()]);
        t.row(vec!["opportunity".into(), "1234".into()]);
        assert_eq!(
            t.text(),
            "  stage        leads\n  mql              7\n  opportunity   1234\n"
        );
    }

    #[test]
    fn html_escapes_cells() {
        let mut t = Table::new(&["value"]);
        t.row(vec!["<script>alert('x')</script> & \"q\"".into()]);
        let html = t.html();
        assert!(!html.contains("<script>"));
        assert!(
            html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;")
        );
    }
}
