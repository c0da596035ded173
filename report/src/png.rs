//! The tickets-per-day chart as a PNG, for a Discord embed (`/ticket stats`): bars of tickets
//! opened and closed per day, the median time to close in the title. Drawn by plotters into a
//! pixel buffer with an embedded font (DejaVu Sans Mono, `fonts/`), encoded by `png`: nothing is
//! read from the system and nothing fetched.

use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use ticketbot_common::stats::{DayCount, TicketStats};

use crate::human_secs;

const FONT: &[u8] = include_bytes!("../fonts/DejaVuSansMono.ttf");
const FAMILY: &str = "sans-serif";
pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 360;
/// Discord's dark embed background and its text colours, and the report's bar colours.
const BACKGROUND: RGBColor = RGBColor(0x2b, 0x2d, 0x31);
const TEXT: RGBColor = RGBColor(0xe3, 0xe5, 0xe8);
const MUTED: RGBColor = RGBColor(0x80, 0x84, 0x8e);
pub const OPENED: RGBColor = RGBColor(0x58, 0x65, 0xf2);
pub const CLOSED: RGBColor = RGBColor(0x3b, 0xa5, 0x5d);

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("the chart font cannot be loaded")]
    Font,
    #[error("the chart cannot be drawn: {0}")]
    Draw(String),
    #[error("the chart cannot be encoded: {0}")]
    Encode(#[from] png::EncodingError),
}

fn font() -> Result<(), ChartError> {
    static LOADED: OnceLock<bool> = OnceLock::new();
    LOADED
        .get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok())
        .then_some(())
        .ok_or(ChartError::Font)
}

fn draw_err<E: std::fmt::Debug>(e: E) -> ChartError {
    ChartError::Draw(format!("{e:?}"))
}

/// The last `days` days of `stats.per_day` (missing days as zero), ending at `last`.
fn window(per_day: &[DayCount], last: chrono::NaiveDate, days: u32) -> Vec<DayCount> {
    (0..days)
        .rev()
        .map(|back| {
            let date = last - chrono::Duration::days(i64::from(back));
            per_day
                .iter()
                .find(|d| d.date == date)
                .copied()
                .unwrap_or(DayCount {
                    date,
                    opened: 0,
                    closed: 0,
                })
        })
        .collect()
}

/// The chart of the `days` days up to `last` (UTC dates), as PNG bytes.
pub fn per_day_png(
    stats: &TicketStats,
    last: chrono::NaiveDate,
    days: u32,
) -> Result<Vec<u8>, ChartError> {
    font()?;
    let days = days.clamp(1, 400);
    let bars = window(&stats.per_day, last, days);
    let top = bars
        .iter()
        .map(|d| d.opened.max(d.closed))
        .max()
        .unwrap_or(0)
        .max(1);
    let title = match stats.time_to_close.median_secs {
        Some(m) => format!("Tickets per day · median time to close {}", human_secs(m)),
        None => "Tickets per day".to_owned(),
    };
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&BACKGROUND).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FAMILY, 20).into_font().color(&TEXT))
            .margin(14)
            .x_label_area_size(28)
            .y_label_area_size(44)
            .build_cartesian_2d(0f64..f64::from(days), 0f64..(top as f64 * 1.1).ceil())
            .map_err(draw_err)?;
        let labels: Vec<String> = bars
            .iter()
            .map(|d| d.date.format("%m-%d").to_string())
            .collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .bold_line_style(MUTED.mix(0.3))
            .light_line_style(TRANSPARENT)
            .axis_style(MUTED)
            .label_style((FAMILY, 13).into_font().color(&MUTED))
            .x_labels(days.min(10) as usize)
            .x_label_formatter(&|x| {
                labels
                    .get(x.floor().max(0.0) as usize)
                    .cloned()
                    .unwrap_or_default()
            })
            .y_label_formatter(&|y| format!("{}", y.round() as u64))
            .draw()
            .map_err(draw_err)?;
        let bar = |i: usize, left: f64, n: u64, colour: RGBColor| {
            let x = i as f64 + left;
            Rectangle::new([(x, 0.0), (x + 0.38, n as f64)], colour.filled())
        };
        chart
            .draw_series(
                bars.iter()
                    .enumerate()
                    .map(|(i, d)| bar(i, 0.1, d.opened, OPENED)),
            )
            .map_err(draw_err)?
            .label("opened")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], OPENED.filled()));
        chart
            .draw_series(
                bars.iter()
                    .enumerate()
                    .map(|(i, d)| bar(i, 0.5, d.closed, CLOSED)),
            )
            .map_err(draw_err)?
            .label("closed")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], CLOSED.filled()));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(BACKGROUND.mix(0.8))
            .border_style(MUTED)
            .label_font((FAMILY, 13).into_font().color(&TEXT))
            .draw()
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    fn count(pixels: &[u8], c: RGBColor) -> usize {
        pixels
            .chunks(3)
            .filter(|p| p[0] == c.0 && p[1] == c.1 && p[2] == c.2)
            .count()
    }

    #[test]
    fn bars_are_drawn_in_proportion() {
        let day = |d: u32, opened, closed| DayCount {
            date: NaiveDate::from_ymd_opt(2026, 11, d).unwrap(),
            opened,
            closed,
        };
        let mut stats = TicketStats {
            per_day: vec![day(20, 10, 0), day(21, 0, 5)],
            ..TicketStats::default()
        };
        let last = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let (w, h, pixels) = decode(&per_day_png(&stats, last, 2).unwrap());
        assert_eq!((w, h), (WIDTH, HEIGHT));
        let (opened, closed) = (count(&pixels, OPENED), count(&pixels, CLOSED));
        // Twice as many opened as closed: about twice the area (the legend swatches aside).
        assert!(opened > 1000 && closed > 500, "{opened} / {closed}");
        let ratio = opened as f64 / closed as f64;
        assert!((1.7..2.3).contains(&ratio), "{opened} / {closed}");

        // No tickets: an empty chart, still a picture.
        let (_, _, empty) = decode(&per_day_png(&TicketStats::default(), last, 7).unwrap());
        assert!(count(&empty, OPENED) < 200, "only the legend swatch");
        assert!(count(&empty, BACKGROUND) > (WIDTH * HEIGHT / 2) as usize);

        // Two weeks; `TICKETBOT_DOCS_CHART=<path>` keeps it (how docs/stats-chart.png is made).
        stats.per_day = (1..=14)
            .map(|d| day(d, 5 + (d as u64 * 7) % 11, 4 + (d as u64 * 5) % 9))
            .collect();
        stats.time_to_close.median_secs = Some(3.0 * 3600.0 + 300.0);
        let last = NaiveDate::from_ymd_opt(2026, 11, 14).unwrap();
        let bytes = per_day_png(&stats, last, 14).unwrap();
        let (_, _, pixels) = decode(&bytes);
        assert!(count(&pixels, OPENED) > count(&pixels, CLOSED));
        if let Ok(path) = std::env::var("TICKETBOT_DOCS_CHART") {
            std::fs::write(path, &bytes).unwrap();
        }
    }
}
