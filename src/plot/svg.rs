//! A figure as SVG through plotters' SVG backend, or as PNG through its pixel backend: one
//! drawing for both. In an SVG text stays `<text>`, so no font files or C libraries are needed;
//! a `<metadata>` element records the axes' data ranges and their pixel positions, so a reader
//! (or a test) can map the drawing back to data coordinates.

use super::{Figure, PALETTE_GREY, PlotError, Shape};
use plotters::prelude::*;

/// Colour `i` of the palette: black for the total, then distinct hues for components.
fn colour(i: usize) -> RGBColor {
    const HUES: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(255, 127, 14),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(23, 190, 207),
    ];
    match i {
        0 => RGBColor(20, 20, 20),
        PALETTE_GREY => RGBColor(170, 170, 170),
        k => HUES[(k - 1) % HUES.len()],
    }
}

fn fail<E: std::fmt::Display>(e: E) -> PlotError {
    PlotError::Data(format!("cannot draw the SVG: {e}"))
}

/// Where the legend hides the fewest drawn points: the corner (of the plot's outer 40% across
/// and 30% down) that the layers touch least, upper right on a tie.
fn emptiest_corner(fig: &Figure) -> SeriesLabelPosition {
    let (x0, x1) = fig.x;
    let (y0, y1) = fig.y;
    let mut counts = [0usize; 4];
    let mut count = |(x, y): (f64, f64)| {
        let (u, v) = ((x - x0) / (x1 - x0), (y - y0) / (y1 - y0));
        let right = u > 0.6;
        let left = u < 0.4;
        let top = v > 0.7;
        let bottom = v < 0.3;
        for (i, hit) in [top && right, top && left, bottom && right, bottom && left]
            .into_iter()
            .enumerate()
        {
            counts[i] += usize::from(hit);
        }
    };
    for layer in &fig.layers {
        match &layer.shape {
            Shape::Line(p) | Shape::Points(p) | Shape::Marks(p) => p.iter().for_each(|&q| count(q)),
            Shape::Bars(b) => b.iter().for_each(|&(a, c, h)| {
                count((a, h));
                count((c, h));
            }),
        }
    }
    let best = (0..4).min_by_key(|&i| counts[i]).unwrap_or(0);
    [
        SeriesLabelPosition::UpperRight,
        SeriesLabelPosition::UpperLeft,
        SeriesLabelPosition::LowerRight,
        SeriesLabelPosition::LowerLeft,
    ][best]
        .clone()
}

/// The bundled font, DejaVu Sans (assets/, under its own licence beside it): every text of
/// a figure is measured and, in a PNG, drawn with it, so no system font is needed.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Registers [`FONT`] as the family the figures name, once.
fn fonts() -> Result<(), PlotError> {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Data("the bundled font could not be read".into()))
    }
}

/// The pixel corners of the axes: where (x0, y0) and (x1, y1) fall.
type Corners = ((i32, i32), (i32, i32));

/// Draws the figure on a drawing area of any plotters backend (SVG text or a pixel buffer).
fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    fig: &Figure,
) -> Result<Corners, PlotError>
where
    DB::ErrorType: 'static,
{
    fonts()?;
    let (x0, x1) = fig.x;
    let (y0, y1) = y_range(fig);
    root.fill(&WHITE).map_err(fail)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(&fig.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(fail)?;
    let tick = |v: &f64| super::short(*v);
    chart
        .configure_mesh()
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .x_desc(&fig.xlabel)
        .y_desc(&fig.ylabel)
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(fail)?;
    for layer in &fig.layers {
        let c = colour(layer.colour);
        let stroke = if layer.faint { 1 } else { 2 };
        let style = ShapeStyle {
            color: c.mix(if layer.faint { 0.6 } else { 1.0 }),
            filled: false,
            stroke_width: stroke,
        };
        let drawn = match &layer.shape {
            Shape::Line(pts) => chart
                .draw_series(LineSeries::new(pts.iter().copied(), style))
                .map_err(fail)?,
            Shape::Points(pts) => chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 2, c.mix(0.55).filled())))
                .map_err(fail)?,
            Shape::Bars(bars) => chart
                .draw_series(
                    bars.iter()
                        .map(|&(a, b, h)| Rectangle::new([(a, 0.0), (b, h)], c.mix(0.45).filled())),
                )
                .map_err(fail)?,
            Shape::Marks(pts) => chart
                .draw_series(
                    pts.iter()
                        .map(|&p| Cross::new(p, 6, ShapeStyle::from(&c).stroke_width(3))),
                )
                .map_err(fail)?,
        };
        if !layer.name.is_empty() {
            let legend = layer.shape.clone();
            drawn.label(&layer.name).legend(move |(x, y)| match legend {
                Shape::Bars(_) => {
                    Rectangle::new([(x, y - 4), (x + 16, y + 4)], c.mix(0.45).filled()).into_dyn()
                }
                Shape::Points(_) => Circle::new((x + 8, y), 3, c.filled()).into_dyn(),
                Shape::Marks(_) => {
                    Cross::new((x + 8, y), 4, ShapeStyle::from(&c).stroke_width(2)).into_dyn()
                }
                Shape::Line(_) => PathElement::new(vec![(x, y), (x + 16, y)], style).into_dyn(),
            });
        }
    }
    if fig.layers.iter().any(|l| !l.name.is_empty()) {
        chart
            .configure_series_labels()
            .position(emptiest_corner(fig))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(fail)?;
    }
    let corners = (
        chart.backend_coord(&(x0, y0)),
        chart.backend_coord(&(x1, y1)),
    );
    root.present().map_err(fail)?;
    Ok(corners)
}

/// The y range drawn: the figure's, or one unit above a flat one.
fn y_range(fig: &Figure) -> (f64, f64) {
    if fig.y.1 > fig.y.0 {
        fig.y
    } else {
        (fig.y.0, fig.y.0 + 1.0)
    }
}

/// The figure as SVG text, `width` × `height` pixels.
pub fn render(fig: &Figure, width: u32, height: u32) -> Result<String, PlotError> {
    let mut out = String::new();
    let corners = draw(
        SVGBackend::with_string(&mut out, (width, height)).into_drawing_area(),
        fig,
    )?;
    let (x0, x1) = fig.x;
    let (y0, y1) = y_range(fig);
    let ((px0, py0), (px1, py1)) = corners;
    let meta = format!(
        "<metadata id=\"gmm-axes\" xrange=\"{x0} {x1}\" xpixels=\"{px0} {px1}\" yrange=\"{y0} {y1}\" ypixels=\"{py0} {py1}\"/>\n"
    );
    match out.rfind("</svg>") {
        Some(at) => out.insert_str(at, &meta),
        None => {
            return Err(PlotError::Data(
                "the SVG backend wrote no closing tag".into(),
            ));
        }
    }
    Ok(out)
}

/// The figure as a PNG file's bytes, `width` × `height` pixels: the same drawing as
/// [`render`], on plotters' pixel backend, encoded by the png crate.
pub fn render_png(fig: &Figure, width: u32, height: u32) -> Result<Vec<u8>, PlotError> {
    let mut rgb = vec![255u8; width as usize * height as usize * 3];
    draw(
        BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area(),
        fig,
    )?;
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|e| PlotError::Data(format!("cannot encode the PNG: {e}")))?;
    writer
        .write_image_data(&rgb)
        .map_err(|e| PlotError::Data(format!("cannot encode the PNG: {e}")))?;
    writer
        .finish()
        .map_err(|e| PlotError::Data(format!("cannot encode the PNG: {e}")))?;
    Ok(bytes)
}
