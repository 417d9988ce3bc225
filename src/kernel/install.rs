//! `gmm jupyter install [--user] [--prefix DIR]`: writes the kernelspec `gmm` — `kernel.json`,
//! which starts `gmm jupyter kernel -f {connection_file}` with interrupts sent as messages, and
//! the logo, drawn here as a two-component mixture density.

use serde_json::json;
use std::path::{Path, PathBuf};

/// Where the kernelspec goes: `PREFIX/share/jupyter/kernels/gmm` for `--prefix`, else the
/// user's Jupyter data folder (`$JUPYTER_DATA_DIR`, else `$XDG_DATA_HOME/jupyter`, else
/// `~/.local/share/jupyter`; `~/Library/Jupyter` on macOS), as `jupyter kernelspec install
/// --user` does.
pub fn folder(prefix: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = prefix {
        return Ok(p.join("share/jupyter/kernels/gmm"));
    }
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(d) = env("JUPYTER_DATA_DIR") {
        return Ok(PathBuf::from(d).join("kernels/gmm"));
    }
    let home = env("HOME").map(PathBuf::from);
    let data = if cfg!(target_os = "macos") {
        home.map(|h| h.join("Library/Jupyter"))
    } else {
        env("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| home.map(|h| h.join(".local/share")))
            .map(|d| d.join("jupyter"))
    };
    data.map(|d| d.join("kernels/gmm"))
        .ok_or_else(|| "no home folder ($HOME is not set); give one with --prefix DIR".into())
}

/// Writes the kernelspec into `dir` for the `gmm` binary at `exe`.
pub fn write(dir: &Path, exe: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let spec = json!({
        "argv": [exe.to_string_lossy(), "jupyter", "kernel", "-f", "{connection_file}"],
        "display_name": "gmm",
        "language": "gmm",
        "interrupt_mode": "message",
        "metadata": {},
    });
    let text = serde_json::to_string_pretty(&spec).expect("JSON values serialise") + "\n";
    let files: [(&str, Vec<u8>); 4] = [
        ("kernel.json", text.into_bytes()),
        ("logo-32x32.png", logo_png(32)),
        ("logo-64x64.png", logo_png(64)),
        ("logo-svg.svg", logo_svg().into_bytes()),
    ];
    for (name, bytes) in files {
        let path = dir.join(name);
        crate::files::write_named(&path, &bytes, &[]).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The logo's curve: a two-component mixture density on [0, 1], scaled to peak at 1.
fn density(x: f64) -> f64 {
    let bump = |m: f64, s: f64, w: f64| w * (-0.5 * ((x - m) / s).powi(2)).exp();
    (bump(0.33, 0.11, 1.0) + bump(0.7, 0.08, 0.75)).min(1.0)
}

/// The logo in pixels: the density filled in blue over white, `size` pixels square.
fn logo_png(size: u32) -> Vec<u8> {
    let n = size as usize;
    let mut rgba = vec![0u8; n * n * 4];
    for py in 0..n {
        for px in 0..n {
            let x = (px as f64 + 0.5) / n as f64;
            let y = 1.0 - (py as f64 + 0.5) / n as f64;
            let top = 0.08 + 0.84 * density(x);
            let colour: [u8; 4] = if y < top && y > 0.06 {
                [31, 119, 180, 255]
            } else {
                [255, 255, 255, 0]
            };
            rgba[(py * n + px) * 4..][..4].copy_from_slice(&colour);
        }
    }
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, size, size);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("a PNG header");
    writer.write_image_data(&rgba).expect("PNG data");
    writer.finish().expect("a PNG");
    bytes
}

/// The logo as SVG: the same curve.
fn logo_svg() -> String {
    let points: Vec<String> = (0..=64)
        .map(|i| {
            let x = i as f64 / 64.0;
            format!(
                "{:.2},{:.2}",
                64.0 * x,
                64.0 * (1.0 - 0.08 - 0.84 * density(x))
            )
        })
        .collect();
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\" viewBox=\"0 0 64 64\">\
         <polygon points=\"0,60.16 {} 64,60.16\" fill=\"#1f77b4\"/></svg>\n",
        points.join(" ")
    )
}
