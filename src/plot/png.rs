//! SVG to PNG: resvg renders the very SVG a `.svg` file would hold, with DejaVu Sans bundled
//! in the binary (assets/DejaVuSans.ttf, under its own licence beside it) as every family the
//! SVG names, so text renders the same on a machine without fonts.

use super::PlotError;

/// The bundled font.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// The PNG image of `svg`, at the SVG's own size in pixels.
pub fn from_svg(svg: &str) -> Result<Vec<u8>, PlotError> {
    let mut opts = resvg::usvg::Options::default();
    const FAMILY: &str = "DejaVu Sans";
    let fonts = opts.fontdb_mut();
    fonts.load_font_data(FONT.to_vec());
    fonts.set_sans_serif_family(FAMILY);
    fonts.set_serif_family(FAMILY);
    fonts.set_monospace_family(FAMILY);
    fonts.set_cursive_family(FAMILY);
    fonts.set_fantasy_family(FAMILY);
    opts.font_family = FAMILY.into();
    let tree = resvg::usvg::Tree::from_str(svg, &opts)
        .map_err(|e| PlotError::Option(format!("the SVG could not be read for PNG: {e}")))?;
    let size = tree.size().to_int_size();
    let mut pixmap =
        resvg::tiny_skia::Pixmap::new(size.width(), size.height()).ok_or_else(|| {
            PlotError::Option(format!(
                "a PNG of {}×{} pixels cannot be made",
                size.width(),
                size.height()
            ))
        })?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| PlotError::Option(format!("the PNG could not be encoded: {e}")))
}
