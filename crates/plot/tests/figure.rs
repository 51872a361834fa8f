//! Figures written to disk: size, text in PNG and SVG, degenerate charts, and write failures.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use echoone_plot::{Chart, Colour, Corner, Figure, PlotError, RefLine, Series, SeriesStyle};

/// An RGB image read back from a PNG.
struct Rgb {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl Rgb {
    fn read(path: &Path) -> Rgb {
        let decoder = png::Decoder::new(BufReader::new(File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut data = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut data).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        data.truncate(info.buffer_size());
        Rgb {
            width: info.width,
            height: info.height,
            data,
        }
    }

    fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y * self.width + x) as usize * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// Pixels in columns `xs` and rows `ys` that satisfy `f`.
    fn count(
        &self,
        xs: std::ops::Range<u32>,
        ys: std::ops::Range<u32>,
        f: impl Fn([u8; 3]) -> bool,
    ) -> usize {
        ys.flat_map(|y| xs.clone().map(move |x| (x, y)))
            .filter(|&(x, y)| f(self.pixel(x, y)))
            .count()
    }
}

fn dark(p: [u8; 3]) -> bool {
    p.iter().all(|&c| c < 100)
}

/// Two panels in the style of `curves.png`, with `title` on the left one.
fn two_panels(title: &str) -> Figure {
    let epochs = 1..=20;
    let loss = Chart::new(title, "epoch", "loss (weighted BCE + Dice)")
        .with_series(Series::new(
            "training loss",
            epochs.clone().map(|e| (e as f64, 1.0 / e as f64)).collect(),
            SeriesStyle::LineWithMarkers,
            Colour::palette(0),
        ))
        .with_series(Series::new(
            "validation loss",
            epochs.clone().map(|e| (e as f64, 1.1 / e as f64)).collect(),
            SeriesStyle::Dashed,
            Colour::palette(1),
        ))
        .with_vline(RefLine::new(17.0, "best epoch 17").dashed());
    let dice = Chart::new("Validation Dice per epoch", "epoch", "Dice")
        .with_y_range(0.0, 1.0)
        .with_legend(Corner::LowerRight)
        .with_series(Series::new(
            "mean Dice",
            epochs.map(|e| (e as f64, 1.0 - 0.5 / e as f64)).collect(),
            SeriesStyle::Line,
            Colour::BLACK,
        ))
        .with_hline(RefLine::new(0.9, "target 0.9").with_colour(Colour::palette(2)));
    Figure::new(vec![loss, dice])
}

#[test]
fn a_two_panel_figure_is_written_as_png_and_svg_with_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("curves.png");
    let written = two_panels("Loss per epoch").write(&path).unwrap();
    assert_eq!(written.png, path);
    assert_eq!(written.svg, dir.path().join("curves.svg"));

    let png = Rgb::read(&path);
    assert_eq!((png.width, png.height), (1200, 500));
    // The titles are centred above each panel, in the top 40 rows.
    for centre in [300, 900] {
        let title = png.count(centre - 80..centre + 80, 0..40, dark);
        assert!(
            title > 100,
            "{title} dark pixels in the title band at x = {centre}"
        );
    }
    // The series colours are drawn.
    let vermillion = png.count(0..600, 0..500, |p| p == [213, 94, 0]);
    assert!(
        vermillion > 50,
        "{vermillion} pixels of the validation loss"
    );

    let svg = std::fs::read_to_string(&written.svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains(r#"width="1200""#));
    for text in [
        "Loss per epoch",
        "Validation Dice per epoch",
        "epoch",
        "loss (weighted BCE + Dice)",
        "Dice",
        "training loss",
        "validation loss",
        "best epoch 17",
        "mean Dice",
        "target 0.9",
    ] {
        assert!(
            svg.contains(&format!(">\n{text}\n</text>")),
            "{text} missing"
        );
    }
    // Tick values are text too.
    for tick in ["0.4", "10"] {
        assert!(
            svg.contains(&format!(">\n{tick}\n</text>")),
            "tick {tick} missing"
        );
    }
}

#[test]
fn the_title_band_is_blank_without_a_title() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("untitled.png");
    two_panels("").write(&path).unwrap();
    let png = Rgb::read(&path);
    assert_eq!(png.count(220..380, 0..25, dark), 0);
}

#[test]
fn one_chart_is_800_by_600_unless_sized() {
    let dir = tempfile::tempdir().unwrap();
    let chart = Chart::new("one", "x (mm)", "y (mm)");
    let path = dir.path().join("one.png");
    Figure::new(vec![chart.clone()]).write(&path).unwrap();
    let png = Rgb::read(&path);
    assert_eq!((png.width, png.height), (800, 600));
    Figure::new(vec![chart])
        .with_size(640, 480)
        .write(&path)
        .unwrap();
    let png = Rgb::read(&path);
    assert_eq!((png.width, png.height), (640, 480));
}

#[test]
fn nan_only_and_empty_charts_still_write_with_axes_title_and_legend() {
    let dir = tempfile::tempdir().unwrap();
    let nan = Chart::new("Only NaN", "frame", "area (mm²)").with_series(Series::new(
        "LV area",
        vec![(f64::NAN, 1.0), (2.0, f64::INFINITY), (f64::NAN, f64::NAN)],
        SeriesStyle::LineWithMarkers,
        Colour::palette(0),
    ));
    let empty = Chart::new("Nothing", "frame", "area (mm²)");
    let path = dir.path().join("degenerate.png");
    let written = Figure::new(vec![nan, empty]).write(&path).unwrap();
    let png = Rgb::read(&path);
    assert_eq!((png.width, png.height), (1200, 500));
    assert!(
        png.count(820..980, 0..40, dark) > 50,
        "no title on the empty chart"
    );
    let svg = std::fs::read_to_string(written.svg).unwrap();
    for text in ["Only NaN", "Nothing", "LV area", "frame", "area (mm²)"] {
        assert!(
            svg.contains(&format!(">\n{text}\n</text>")),
            "{text} missing"
        );
    }
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_missing_folder_gives_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("curves.png");
    let err = two_panels("t").write(&path).unwrap_err();
    assert!(matches!(err, PlotError::Io { .. }), "{err:?}");
    assert_eq!(err.path(), path);
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn a_target_that_cannot_be_replaced_gives_an_error_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    // A folder where the PNG should go: the rename onto it fails (also for root).
    let path = dir.path().join("curves.png");
    std::fs::create_dir(&path).unwrap();
    let err = two_panels("t").write(&path).unwrap_err();
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert_eq!(listing(dir.path()), ["curves.png"]);
    assert!(listing(&path).is_empty());

    // A read-only folder (root may write there anyway: then the write succeeds).
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    let mut perms = std::fs::metadata(&locked).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&locked, perms.clone()).unwrap();
    let enforced = File::create(locked.join("probe")).is_err();
    let result = two_panels("t").write(&locked.join("curves.png"));
    if enforced {
        let err = result.unwrap_err();
        assert!(err.to_string().contains("locked"), "{err}");
        assert!(listing(&locked).is_empty());
    }
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&locked, perms).unwrap();
}

#[test]
fn a_failed_svg_leaves_no_temporary_file_and_a_rewrite_replaces_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("curves.png");
    std::fs::create_dir(dir.path().join("curves.svg")).unwrap();
    let err = two_panels("t").write(&path).unwrap_err();
    assert_eq!(err.path(), dir.path().join("curves.svg"));
    assert_eq!(listing(dir.path()), ["curves.png", "curves.svg"]);
    std::fs::remove_dir(dir.path().join("curves.svg")).unwrap();
    two_panels("first").write(&path).unwrap();
    two_panels("second").write(&path).unwrap();
    let svg = std::fs::read_to_string(dir.path().join("curves.svg")).unwrap();
    assert!(svg.contains("second") && !svg.contains("first"));
    assert_eq!(listing(dir.path()), ["curves.png", "curves.svg"]);
}

#[test]
fn figures_that_cannot_be_drawn_are_refused_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.png");
    let chart = Chart::new("t", "x", "y");
    let cases = [
        (Figure::new(vec![]), path.clone()),
        (
            Figure::new(vec![chart.clone()]).with_size(100, 100),
            path.clone(),
        ),
        (
            Figure::new(vec![chart.clone()]).with_size(100_000, 600),
            path.clone(),
        ),
        (Figure::new(vec![chart]), dir.path().join("bad.svg")),
    ];
    for (figure, path) in cases {
        let err = figure.write(&path).unwrap_err();
        assert!(matches!(err, PlotError::Invalid { .. }), "{err:?}");
        assert!(
            err.to_string().starts_with(&path.display().to_string()),
            "{err}"
        );
    }
    assert!(listing(dir.path()).is_empty());
}
