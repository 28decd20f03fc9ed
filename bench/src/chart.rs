//! Grouped bar charts as SVG, drawn with plotters (its SVG backend only): one
//! group of bars per scenario, one bar per server, and a line at the
//! reference value (1: as fast as the baseline).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// What to draw.
#[derive(Debug)]
pub struct BarChart<'a> {
    /// The caption above the chart.
    pub title: &'a str,
    /// What the vertical axis shows.
    pub y_label: &'a str,
    /// The groups along the horizontal axis (scenarios).
    pub groups: Vec<String>,
    /// One series per server: its name and a value per group (`None`: not measured).
    pub series: Vec<(String, Vec<Option<f64>>)>,
    /// A logarithmic vertical axis, for values spanning orders of magnitude.
    pub log_scale: bool,
}

const WIDTH: u32 = 960;
const HEIGHT: u32 = 480;
const SERIES_COLORS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
];

/// The chart as an SVG document.
pub fn render(chart: &BarChart<'_>) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, chart).map_err(|e| format!("drawing the chart: {e}"))?;
        root.present().map_err(|e| format!("drawing the chart: {e}"))?;
    }
    Ok(svg)
}

/// The vertical range: from below the smallest value (0 on a linear axis)
/// to above the largest, always showing 1.
fn y_range(chart: &BarChart<'_>) -> (f64, f64) {
    let values = chart.series.iter().flat_map(|(_, v)| v.iter().flatten().copied());
    let (min, max) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((1.0f64, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    // Headroom above the tallest bar for the legend.
    if chart.log_scale {
        (min / 2.0, max * 8.0)
    } else {
        (0.0, max * 1.5)
    }
}

fn axis_label(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn draw(root: &Area<'_>, chart: &BarChart<'_>) -> Result<(), Box<dyn std::error::Error>> {
    root.fill(&WHITE)?;
    let groups = chart.groups.len().max(1);
    let (low, high) = y_range(chart);
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(chart.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64);
    let x = 0f64..groups as f64;
    // One body draws bars, labels and legend on either kind of axis.
    macro_rules! bars {
        ($plot:expr) => {{
            let mut plot = $plot;
            plot.configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .y_desc(chart.y_label)
                .y_label_formatter(&|v| axis_label(*v))
                .draw()?;
            let width = 0.8 / chart.series.len().max(1) as f64;
            for (s, (name, values)) in chart.series.iter().enumerate() {
                let color = SERIES_COLORS[s % SERIES_COLORS.len()];
                let left = |g: usize| g as f64 + 0.1 + s as f64 * width;
                plot.draw_series(values.iter().enumerate().filter_map(|(g, v)| {
                    v.filter(|v| v.is_finite() && *v > 0.0)
                        .map(|v| Rectangle::new([(left(g), low), (left(g) + width * 0.92, v)], color.filled()))
                }))?
                .label(name.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
                let value_style = ("sans-serif", 11)
                    .into_font()
                    .into_text_style(root)
                    .pos(Pos::new(HPos::Center, VPos::Bottom));
                plot.draw_series(values.iter().enumerate().filter_map(|(g, v)| {
                    v.filter(|v| v.is_finite() && *v > 0.0)
                        .map(|v| Text::new(format!("{v:.2}"), (left(g) + width * 0.46, v), value_style.clone()))
                }))?;
            }
            plot.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 1.0), (groups as f64, 1.0)],
                BLACK,
            )))?;
            plot.configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()?;
            let label_style = ("sans-serif", 14)
                .into_font()
                .into_text_style(root)
                .pos(Pos::new(HPos::Center, VPos::Top));
            for (g, name) in chart.groups.iter().enumerate() {
                let (px, py) = plot.backend_coord(&(g as f64 + 0.5, low));
                root.draw(&Text::new(name.as_str(), (px, py + 8), label_style.clone()))?;
            }
        }};
    }
    if chart.log_scale {
        bars!(builder.build_cartesian_2d(x, (low..high).log_scale())?);
    } else {
        bars!(builder.build_cartesian_2d(x, low..high)?);
    }
    Ok(())
}

/// True when the SVG shows `text` as one text element (plotters puts the
/// text on a line of its own).
#[cfg(test)]
pub fn shows_text(svg: &str, text: &str) -> bool {
    let text = text.replace('\'', "&apos;");
    svg.contains(&format!(">\n{text}\n</text>")) || svg.contains(&format!(">{text}</text>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(log_scale: bool) -> BarChart<'static> {
        BarChart {
            title: "ratios",
            y_label: "÷ baseline",
            groups: vec!["http_ping".to_owned(), "ws_ping".to_owned()],
            series: vec![
                ("ours".to_owned(), vec![Some(1.03), Some(0.96)]),
                ("jsonrpsee".to_owned(), vec![Some(0.84), None]),
            ],
            log_scale,
        }
    }

    #[test]
    fn draws_a_bar_and_a_label_per_value() {
        for log_scale in [false, true] {
            let svg = render(&sample(log_scale)).unwrap();
            assert!(svg.starts_with("<svg"), "{svg}");
            for text in [
                "http_ping",
                "ws_ping",
                "ours",
                "jsonrpsee",
                "1.03",
                "0.96",
                "0.84",
                "ratios",
            ] {
                assert!(shows_text(&svg, text), "no {text} in the chart:\n{svg}");
            }
            // Three values: three bars, plus the two legend swatches.
            let filled_rects = svg.matches("<rect").count();
            assert!(filled_rects >= 5, "{filled_rects} rects");
        }
    }

    #[test]
    fn the_range_shows_one_and_every_value() {
        assert_eq!(y_range(&sample(false)), (0.0, 1.03 * 1.5));
        let (low, high) = y_range(&sample(true));
        assert!(low < 0.84 && high > 1.03);
    }
}
