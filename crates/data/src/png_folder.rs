//! A plain folder of image/label PNG pairs: `<dir>/{img,image,images}/<name>.png` with
//! `<dir>/{label,labels,mask,masks,gt}/<name>.png` holding 0 background, 1 LV, 2 MYO, 3 LA.

use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::png_io::read_png;
use crate::sample::{Phase, Plane, Sample, SampleInfo, StructureSet};

const IMAGE_DIRS: [&str; 3] = ["img", "image", "images"];
const LABEL_DIRS: [&str; 5] = ["label", "labels", "mask", "masks", "gt"];

fn find(dir: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| dir.join(n)).find(|p| p.is_dir())
}

/// Reads every pair, sorted by name; an image without its label is an error naming it.
pub fn read(dir: &Path) -> Result<Vec<Sample>> {
    let missing = |what: &str, names: &[&str]| {
        DataError::format(
            dir,
            format!("no {what} folder (one of {})", names.join(", ")),
        )
    };
    let images = find(dir, &IMAGE_DIRS).ok_or_else(|| missing("image", &IMAGE_DIRS))?;
    let labels = find(dir, &LABEL_DIRS).ok_or_else(|| missing("label", &LABEL_DIRS))?;
    let mut names: Vec<PathBuf> = std::fs::read_dir(&images)
        .map_err(|e| DataError::io(&images, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("png")))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(DataError::format(&images, "no .png images"));
    }
    let mut out = Vec::with_capacity(names.len());
    for image_path in names {
        let file = image_path.file_name().unwrap_or_default();
        let label_path = labels.join(file);
        if !label_path.is_file() {
            return Err(DataError::format(
                &image_path,
                format!("no label map {}", label_path.display()),
            ));
        }
        let stem = image_path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let mut info = SampleInfo::new("png", stem.split('_').next().unwrap_or(&stem));
        info.plane = Plane::from_file_name(&stem);
        info.phase = Phase::from_file_name(&stem);
        let image = read_png(&image_path)?;
        let label = read_png(&label_path)?;
        out.push(Sample::new(
            image,
            label,
            StructureSet::ALL,
            info,
            &label_path,
        )?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::png_io::write_png;

    #[test]
    fn pairs_by_name_and_reports_missing_labels() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let e = read(root).unwrap_err().to_string();
        assert!(e.contains("no image folder"), "{e}");
        std::fs::create_dir_all(root.join("images")).unwrap();
        std::fs::create_dir_all(root.join("masks")).unwrap();
        let mut lab = image::GrayImage::new(6, 4);
        lab.put_pixel(2, 1, image::Luma([2]));
        write_png(
            &root.join("images/p1_4CH_ES.png"),
            &image::GrayImage::new(6, 4),
        )
        .unwrap();
        write_png(&root.join("masks/p1_4CH_ES.png"), &lab).unwrap();
        let s = read(root).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(
            (s[0].info.case.as_str(), s[0].info.plane),
            ("p1", Plane::FourChamber)
        );
        assert_eq!(s[0].label, lab);
        write_png(&root.join("images/p2.png"), &image::GrayImage::new(6, 4)).unwrap();
        let e = read(root).unwrap_err().to_string();
        assert!(e.contains("p2.png") && e.contains("no label map"), "{e}");
    }

    #[test]
    fn every_folder_name_pairs() {
        for images in IMAGE_DIRS {
            for labels in LABEL_DIRS {
                let dir = tempfile::tempdir().unwrap();
                let root = dir.path();
                std::fs::create_dir_all(root.join(images)).unwrap();
                std::fs::create_dir_all(root.join(labels)).unwrap();
                let mut lab = image::GrayImage::new(5, 3);
                lab.put_pixel(1, 1, image::Luma([1]));
                let name = "case7_2CH_ED.png";
                write_png(&root.join(images).join(name), &image::GrayImage::new(5, 3)).unwrap();
                write_png(&root.join(labels).join(name), &lab).unwrap();
                let s = read(root).unwrap();
                assert_eq!(s.len(), 1, "{images}/ with {labels}/");
                assert_eq!(s[0].label, lab, "{images}/ with {labels}/");
            }
        }
    }
}
