//! A report run as one self-contained HTML file: inline CSS, the chart as inline SVG, no scripts
//! and no external resources, so it opens offline and can be mailed as is.

use super::cells::{self, Kind};
use super::header::ChartKind;
use super::markdown::{context_line, highlight_lines, note_line, params_line};
use super::run::Run;

const STYLE: &str = "body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}\
h1{margin-bottom:.2rem}.context,.params,.freshness,footer{color:#555;font-size:.9rem}\
.summary{font-size:1.15rem;font-weight:600;margin:1rem 0}\
.highlights{display:flex;gap:2rem}.highlights div{flex:1}.wins h3{color:#1b7a3a}.problems h3{color:#b42318}\
table{border-collapse:collapse;width:100%;font-size:.85rem;margin-top:1rem}\
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left}th{background:#f4f5f7}\
td.num{text-align:right;font-variant-numeric:tabular-nums}.up{color:#1b7a3a}.down{color:#b42318}\
figure{margin:1rem 0}.notes{font-size:.85rem;color:#444;list-style:none;padding-left:0}.scroll{overflow-x:auto}";

pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

pub fn render(run: &Run) -> Result<String, String> {
    let e = escape;
    let mut o =
        String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str(&format!(
        "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        e(&run.title),
        e(&run.title)
    ));
    if let Some(d) = &run.report.header.description {
        o.push_str(&format!("<p class=\"description\">{}</p>\n", e(d.trim())));
    }
    o.push_str(&format!(
        "<p class=\"context\">{}</p>\n",
        e(&context_line(run))
    ));
    if let Some(p) = params_line(run) {
        o.push_str(&format!("<p class=\"params\">Parameters: {}</p>\n", e(&p)));
    }
    o.push_str(&format!("<p class=\"summary\">{}</p>\n", e(&run.summary)));
    if let Some(h) = &run.highlights {
        let (wins, problems) = highlight_lines(h);
        o.push_str("<section class=\"highlights\">\n");
        for (class, title, lines) in [
            ("wins", format!("Wins: {} rose most", h.metric), wins),
            (
                "problems",
                format!("Problems: {} fell most", h.metric),
                problems,
            ),
        ] {
            o.push_str(&format!(
                "<div class=\"{class}\"><h3>{}</h3><ul>",
                e(&title)
            ));
            if lines.is_empty() {
                o.push_str("<li>none</li>");
            }
            for l in lines {
                o.push_str(&format!("<li>{}</li>", e(&l)));
            }
            o.push_str("</ul></div>\n");
        }
        o.push_str("</section>\n");
    }
    if let Some(spec) = &run.report.header.chart
        && spec.kind != ChartKind::None
    {
        let data = super::chart::data(spec, &run.current)?;
        let svg = super::chart::svg(spec, &data, &run.annotations, (1000, 380))?;
        o.push_str("<figure class=\"chart\">\n");
        o.push_str(&svg);
        o.push('\n');
        if !run.annotations.is_empty() {
            o.push_str("<figcaption><ul class=\"notes\">");
            for (i, a) in run.annotations.iter().enumerate() {
                o.push_str(&format!("<li>{}</li>", e(&note_line(i, a))));
            }
            o.push_str("</ul></figcaption>\n");
        }
        o.push_str("</figure>\n");
    } else if !run.annotations.is_empty() {
        o.push_str("<ul class=\"notes\">");
        for (i, a) in run.annotations.iter().enumerate() {
            o.push_str(&format!("<li>{}</li>", e(&note_line(i, a))));
        }
        o.push_str("</ul>\n");
    }
    let kinds = cells::kinds(&run.table);
    o.push_str("<div class=\"scroll\">\n<table class=\"result\">\n<thead><tr>");
    for f in run.table.schema.fields() {
        o.push_str(&format!("<th>{}</th>", e(f.name())));
    }
    o.push_str("</tr></thead>\n<tbody>\n");
    for row in cells::rows(&run.table)? {
        o.push_str("<tr>");
        for ((text, raw), k) in row.iter().zip(&kinds) {
            let class = match (k, raw) {
                (Kind::Change, Some(x)) if *x > 0.0 => " class=\"num up\"",
                (Kind::Change, Some(x)) if *x < 0.0 => " class=\"num down\"",
                (Kind::Text, _) if raw.is_none() => "",
                _ => " class=\"num\"",
            };
            o.push_str(&format!("<td{class}>{}</td>", e(text)));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody>\n</table>\n</div>\n");
    if !run.freshness.is_empty() {
        o.push_str("<p class=\"freshness\">Data as of: ");
        let parts: Vec<String> = run
            .freshness
            .iter()
            .map(|f| {
                format!(
                    "{} · {}: {}",
                    f.table,
                    f.source,
                    f.latest.as_deref().unwrap_or("no data")
                )
            })
            .collect();
        o.push_str(&e(&parts.join("; ")));
        o.push_str("</p>\n");
    }
    o.push_str(&format!(
        "<footer>Generated by loopql {} at {}</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        run.generated_at.format("%Y-%m-%d %H:%M UTC")
    ));
    Ok(o)
}
