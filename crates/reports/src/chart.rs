//! The report's chart as an SVG string (plotters, no fonts or network needed): line, grouped bar
//! or stacked bar over the result's `x`, `y` and optional `series` columns, with annotation
//! markers on date axes.

use super::header::{ChartKind, ChartSpec};
use super::run::Table;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use loopql_core::annotations::Annotation;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// The chart's data: categories along x, one value per category per series.
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    pub categories: Vec<String>,
    pub series: Vec<(String, Vec<Option<f64>>)>,
    pub x_is_date: bool,
}

/// Gathers the chart's data from the result; the error names a missing or non-numeric column.
pub fn data(spec: &ChartSpec, t: &Table) -> Result<Data, String> {
    let col = |name: &Option<String>, what: &str| -> Result<Option<usize>, String> {
        name.as_ref()
            .map(|n| t.column(n).map_err(|m| format!("chart {what}: {m}")))
            .transpose()
    };
    let (Some(x), Some(y)) = (col(&spec.x, "x")?, col(&spec.y, "y")?) else {
        return Err("chart needs x and y".into());
    };
    let s = col(&spec.series, "series")?;
    if !t.schema.field(y).data_type().is_numeric() {
        return Err(format!(
            "chart y `{}` is not a number column",
            t.schema.field(y).name()
        ));
    }
    let x_is_date = matches!(
        t.schema.field(x).data_type(),
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)
    );
    let mut categories: Vec<String> = Vec::new();
    let mut points: Vec<(String, String, f64)> = Vec::new();
    let opts = FormatOptions::default().with_null("(none)");
    for b in &t.batches {
        let fx = ArrayFormatter::try_new(b.column(x).as_ref(), &opts).map_err(|e| e.to_string())?;
        let fs = s
            .map(|s| ArrayFormatter::try_new(b.column(s).as_ref(), &opts))
            .transpose()
            .map_err(|e| e.to_string())?;
        let ys = cast(b.column(y), &DataType::Float64).map_err(|e| e.to_string())?;
        let ys = ys.as_primitive::<Float64Type>();
        for r in 0..b.num_rows() {
            let xv = fx.value(r).to_string();
            if !categories.contains(&xv) {
                categories.push(xv.clone());
            }
            if ys.is_null(r) || !ys.value(r).is_finite() {
                continue;
            }
            let sv = fs
                .as_ref()
                .map(|f| f.value(r).to_string())
                .unwrap_or_else(|| t.schema.field(y).name().clone());
            points.push((sv, xv, ys.value(r)));
        }
    }
    if x_is_date {
        categories.sort();
    }
    let mut series: Vec<(String, Vec<Option<f64>>)> = Vec::new();
    for (sv, xv, v) in points {
        let i = categories.iter().position(|c| c == &xv).unwrap_or(0);
        let k = match series.iter().position(|(n, _)| n == &sv) {
            Some(k) => k,
            None => {
                series.push((sv, vec![None; categories.len()]));
                series.len() - 1
            }
        };
        let cell = &mut series[k].1[i];
        *cell = Some(cell.unwrap_or(0.0) + v);
    }
    Ok(Data {
        categories,
        series,
        x_is_date,
    })
}

/// Where an annotation sits on a date axis (category index, fractional between dates).
fn position(categories: &[String], date: &str) -> Option<f64> {
    let first = categories.first()?;
    let last = categories.last()?;
    if date < first.as_str() || date > last.as_str() {
        return None;
    }
    let i = categories.iter().position(|c| c.as_str() >= date)?;
    Some(i as f64)
}

/// The chart as a standalone `<svg>` element.
pub fn svg(
    spec: &ChartSpec,
    data: &Data,
    notes: &[Annotation],
    (width, height): (u32, u32),
) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        draw(spec, data, notes, &root).map_err(|e| format!("chart: {e}"))?;
        root.present().map_err(|e| format!("chart: {e}"))?;
    }
    Ok(out)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
type Drawn = Result<(), Box<dyn std::error::Error>>;

fn draw(spec: &ChartSpec, data: &Data, notes: &[Annotation], root: &Area<'_>) -> Drawn {
    root.fill(&WHITE)?;
    let n = data.categories.len().max(1);
    let (lo, hi) = y_bounds(spec, data, n);
    let pad = (hi - lo) * 0.08;
    let y_range = (if lo < 0.0 { lo - pad } else { 0.0 })..(hi + pad);
    let labels = data.categories.clone();
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), y_range)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n.min(12))
        .x_label_formatter(&|x| {
            let r = x.round();
            if (x - r).abs() < 1e-6 && r >= 0.0 {
                labels.get(r as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| super::run::number(*y))
        .y_desc(spec.y.clone().unwrap_or_default())
        .x_desc(spec.x.clone().unwrap_or_default())
        .label_style(("sans-serif", 12))
        .draw()?;
    draw_series(&mut chart, spec.kind, data, n)?;
    if data.x_is_date {
        draw_markers(&mut chart, data, notes, lo, hi + pad * 0.5)?;
    }
    if data.series.len() > 1 {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::UpperRight)
            .label_font(("sans-serif", 12))
            .draw()?;
    }
    Ok(())
}

/// The lowest and highest value the y axis must show (stacked bars: the stacks' ends).
fn y_bounds(spec: &ChartSpec, data: &Data, n: usize) -> (f64, f64) {
    let stacked = spec.kind == ChartKind::StackedBar;
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for i in 0..n {
        let (mut pos, mut neg) = (0.0, 0.0);
        for (_, values) in &data.series {
            let v = values.get(i).copied().flatten().unwrap_or(0.0);
            if stacked {
                if v >= 0.0 { pos += v } else { neg += v }
            } else {
                hi = hi.max(v);
                lo = lo.min(v);
            }
        }
        hi = hi.max(pos);
        lo = lo.min(neg);
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    (lo, hi)
}

/// Each series as lines, side-by-side bars or stacked bars, with its legend entry.
fn draw_series(chart: &mut Chart<'_, '_>, kind: ChartKind, data: &Data, n: usize) -> Drawn {
    let k = data.series.len().max(1);
    let mut base_pos = vec![0.0; n];
    let mut base_neg = vec![0.0; n];
    for (si, (name, values)) in data.series.iter().enumerate() {
        let color = PALETTE[si % PALETTE.len()];
        match kind {
            ChartKind::Line | ChartKind::None => {
                let pts: Vec<(f64, f64)> = values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| (i as f64, v)))
                    .collect();
                chart
                    .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
                    .label(name.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                    });
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 2, color.filled())))?;
            }
            ChartKind::Bar => {
                let w = 0.8 / k as f64;
                chart
                    .draw_series(values.iter().enumerate().filter_map(|(i, v)| {
                        let v = (*v)?;
                        let x0 = i as f64 - 0.4 + w * si as f64;
                        Some(Rectangle::new(
                            [(x0, 0.0), (x0 + w * 0.92, v)],
                            color.filled(),
                        ))
                    }))?
                    .label(name.clone())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                    });
            }
            ChartKind::StackedBar => {
                let rects: Vec<_> = values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| {
                        let v = (*v)?;
                        let base = if v >= 0.0 {
                            &mut base_pos[i]
                        } else {
                            &mut base_neg[i]
                        };
                        let (a, b) = (*base, *base + v);
                        *base = b;
                        Some(Rectangle::new(
                            [(i as f64 - 0.4, a), (i as f64 + 0.4, b)],
                            color.filled(),
                        ))
                    })
                    .collect();
                chart
                    .draw_series(rects)?
                    .label(name.clone())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                    });
            }
        }
    }
    Ok(())
}

/// A dashed line and a numbered label at each annotation's day, up to `top`.
fn draw_markers(
    chart: &mut Chart<'_, '_>,
    data: &Data,
    notes: &[Annotation],
    lo: f64,
    top: f64,
) -> Drawn {
    for (i, note) in notes.iter().enumerate() {
        let Some(x) = position(&data.categories, &note.date.to_string()) else {
            continue;
        };
        let marker = RGBColor(120, 120, 120);
        chart.draw_series(DashedLineSeries::new(
            vec![(x, 0.0f64.max(lo)), (x, top)],
            4,
            3,
            marker.stroke_width(1),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("[{}]", i + 1),
            (x, top),
            ("sans-serif", 12).into_font().color(&marker),
        )))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Date32Array, Float64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn table() -> Table {
        let schema = Arc::new(Schema::new(vec![
            Field::new("date", DataType::Date32, false),
            Field::new("channel", DataType::Utf8, false),
            Field::new("spend", DataType::Float64, true),
        ]));
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Date32Array::from(vec![19723, 19724, 19723, 19724])),
                Arc::new(StringArray::from(vec![
                    "Search", "Search", "Social", "Social",
                ])),
                Arc::new(Float64Array::from(vec![
                    Some(10.0),
                    Some(12.0),
                    Some(5.0),
                    None,
                ])),
            ],
        )
        .unwrap();
        Table {
            schema,
            batches: vec![b],
        }
    }

    fn spec(kind: ChartKind, y: &str) -> ChartSpec {
        ChartSpec {
            kind,
            x: Some("date".into()),
            y: Some(y.into()),
            series: Some("channel".into()),
        }
    }

    #[test]
    fn data_by_series() {
        let d = data(&spec(ChartKind::Line, "spend"), &table()).unwrap();
        assert_eq!(d.categories, vec!["2024-01-01", "2024-01-02"]);
        assert!(d.x_is_date);
        assert_eq!(
            d.series,
            vec![
                ("Search".to_string(), vec![Some(10.0), Some(12.0)]),
                ("Social".to_string(), vec![Some(5.0), None]),
            ]
        );
        let e = data(&spec(ChartKind::Line, "channel"), &table()).unwrap_err();
        assert!(e.contains("not a number"), "{e}");
        let e = data(&spec(ChartKind::Line, "revenue"), &table()).unwrap_err();
        assert!(e.contains("date, channel, spend"), "{e}");
    }

    #[test]
    fn draws_every_kind_with_markers() {
        let note = Annotation {
            client_id: "acme".into(),
            date: "2024-01-02".parse().unwrap(),
            end_date: None,
            channel: None,
            campaign: None,
            author: None,
            text: "launch".into(),
        };
        for kind in [ChartKind::Line, ChartKind::Bar, ChartKind::StackedBar] {
            let s = spec(kind, "spend");
            let d = data(&s, &table()).unwrap();
            let svg = svg(&s, &d, std::slice::from_ref(&note), (640, 320)).unwrap();
            assert!(svg.starts_with("<svg"), "{kind:?}");
            assert!(
                svg.contains("2024-01-01") && svg.contains("Social"),
                "{kind:?}"
            );
            assert!(svg.contains("[1]"), "{kind:?}: annotation marker");
            match kind {
                ChartKind::Line => assert!(svg.contains("<polyline")),
                _ => assert!(svg.matches("<rect").count() >= 4, "{kind:?}"),
            }
        }
    }
}
