//! Readers that survive any file: every reader of outside data in echoone-data is fed thousands of
//! truncated, bit-flipped, header-mutated and garbage-extended versions of a valid file (seeded,
//! so every run feeds the same files). Each call must return (no panic), return within 1 s, name
//! the file in its error, and never ask the allocator for more than 1 GiB at once: this binary's
//! global allocator (echoone-test-support's `CountingAlloc`, with its mutator and harness)
//! refuses such a request and names the variant, so a header that claims a huge size must be
//! refused before anything of that size is allocated.
//!
//! Run `cargo test -p echoone-data --test robustness -- --nocapture` to see, per reader, the
//! number of variants, the slowest one and the largest single allocation.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use echoone_data::avi::AviVideo;
use echoone_data::{DatasetSpec, SplitPlan, SyntheticConfig};
use echoone_test_support::{
    CountingAlloc, Field, PLAN, Plan, Variant, assert_refused_quickly, check, nifti1_fields,
    png_ihdr_variants, text_variants, variants, zip_fields,
};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Copies the folder `from` into `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

fn name_of(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

// ---------------------------------------------------------------------------------------------
// The readers.

#[test]
fn nifti_survives_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = fixtures().join("camus_nifti/database_nifti/patient0001");
    let seeds = [
        "patient0001_2CH_ED.nii.gz",
        "patient0001_2CH_ED_gt.nii.gz",
        "patient0001_2CH_half_sequence.nii.gz",
    ];
    let plain = dir.path().join("mutant.nii");
    let packed = dir.path().join("mutant.nii.gz");
    for (k, seed) in seeds.iter().enumerate() {
        let gz = std::fs::read(root.join(seed)).unwrap();
        let nii = gunzip(&gz);
        let raw = variants(
            seed,
            &nii,
            &nifti1_fields(),
            Plan {
                header_bits: 44,
                ..PLAN
            },
            11 + k as u64,
        );
        // The same variants compressed: the reader must not trust the header either.
        let small = Plan {
            cuts: 40,
            header_bits: 0,
            flips: 40,
            multi: 40,
            bytes: 40,
        };
        let compressed: Vec<Variant> = variants(seed, &nii, &nifti1_fields(), small, 21 + k as u64)
            .into_iter()
            .map(|(n, v)| (format!("{n} (gzipped)"), gzip(&v)))
            .chain(variants(seed, &gz, &[], small, 31 + k as u64))
            .collect();
        let read = |p: &Path| echoone_data::nifti_io::read(p).map(|_| ());
        check("nifti .nii", &plain, "mutant.nii", raw, read);
        check("nifti .nii.gz", &packed, "mutant.nii.gz", compressed, read);
    }
}

#[test]
fn nifti_header_claiming_huge_sizes_is_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let seed = gunzip(
        &std::fs::read(
            fixtures().join("camus_nifti/database_nifti/patient0001/patient0001_2CH_ED.nii.gz"),
        )
        .unwrap(),
    );
    for (gz, name) in [(false, "huge.nii"), (true, "huge.nii.gz")] {
        let path = dir.path().join(name);
        // 32767^3 voxels of f64 (2^48 bytes), then 32767 x 32767 x 1 of u8 (2^30 bytes).
        for (dims, datatype, bitpix) in [
            ([3i16, 32767, 32767, 32767], 64i16, 64i16),
            ([3, 32767, 32767, 1], 2, 8),
        ] {
            let mut v = seed.clone();
            for (k, d) in dims.iter().enumerate() {
                v[40 + 2 * k..42 + 2 * k].copy_from_slice(&d.to_le_bytes());
            }
            v[70..72].copy_from_slice(&datatype.to_le_bytes());
            v[72..74].copy_from_slice(&bitpix.to_le_bytes());
            std::fs::write(&path, if gz { gzip(&v) } else { v }).unwrap();
            assert_refused_quickly(
                &format!("nifti {name} claiming {dims:?}"),
                name,
                1 << 20,
                || echoone_data::nifti_io::read(&path),
            );
        }
    }
}

#[test]
fn mhd_survives_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixtures().join("camus_mhd/training/patient0003");
    let read = |p: &Path| echoone_data::mhd::read(p).map(|_| ());
    for (k, stem) in ["patient0003_4CH_ED", "patient0003_4CH_ES"]
        .iter()
        .enumerate()
    {
        let header = std::fs::read_to_string(src.join(format!("{stem}.mhd"))).unwrap();
        let data_name = header
            .lines()
            .find_map(|l| l.strip_prefix("ElementDataFile = "))
            .unwrap()
            .trim()
            .to_string();
        let data = std::fs::read(src.join(&data_name)).unwrap();
        // The header mutated, its data file intact.
        let mhd = dir.path().join(format!("{stem}.mhd"));
        std::fs::write(dir.path().join(&data_name), &data).unwrap();
        check(
            "mhd header",
            &mhd,
            stem,
            text_variants(stem, &header, 12, 41 + k as u64),
            read,
        );
        // The data file mutated under the intact header.
        std::fs::write(&mhd, &header).unwrap();
        let target = dir.path().join(&data_name);
        check(
            "mhd data",
            &target,
            stem,
            variants(
                &data_name,
                &data,
                &[Field::int("zlib header", 0, 2)],
                PLAN,
                51 + k as u64,
            ),
            read,
        );
        // Header and data in one file (ElementDataFile = LOCAL).
        let local_header = header.replace(&data_name, "LOCAL");
        let mut local = local_header.into_bytes();
        local.extend(&data);
        let target = dir.path().join("local.mhd");
        check(
            "mhd local",
            &target,
            "local.mhd",
            variants("local.mhd", &local, &[], PLAN, 61 + k as u64),
            read,
        );
    }
}

#[test]
fn mhd_header_claiming_huge_sizes_is_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.mhd");
    for (dims, compressed) in [
        ("65536 65536 65536", false),
        ("4294967296 4294967296 1", false),
        ("1e30 1e30 1", false),
        ("65536 65536 65536", true),
        ("100000 100000 1", true),
    ] {
        let mut bytes = format!(
            "NDims = 3\nDimSize = {dims}\nElementType = MET_DOUBLE\nCompressedData = {compressed}\nElementDataFile = LOCAL\n"
        )
        .into_bytes();
        bytes.extend(if compressed {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(&vec![0u8; 1 << 20]).unwrap();
            e.finish().unwrap()
        } else {
            vec![0u8; 64]
        });
        std::fs::write(&path, bytes).unwrap();
        assert_refused_quickly(&format!("mhd claiming {dims}"), "huge.mhd", 4 << 20, || {
            echoone_data::mhd::read(&path)
        });
    }
}

/// The offsets of the size field of every RIFF chunk whose id is one of the AVI's.
fn avi_fields(bytes: &[u8]) -> Vec<Field> {
    let ids: [&[u8; 4]; 9] = [
        b"RIFF", b"LIST", b"avih", b"strh", b"strf", b"00dc", b"idx1", b"JUNK", b"01wb",
    ];
    let mut out = Vec::new();
    for at in 0..bytes.len().saturating_sub(8) {
        if let Some(id) = ids.iter().find(|id| bytes[at..at + 4] == id[..])
            && out.len() < 40
        {
            out.push(Field::int(
                format!("size of '{}' at {at}", String::from_utf8_lossy(&id[..])),
                at + 4,
                4,
            ));
        }
        // JPEG start of frame: height and width (big-endian) of the first frames.
        if bytes[at..at + 2] == [0xFF, 0xC0] && out.len() < 48 {
            out.push(Field::int_be(format!("JPEG height at {at}"), at + 5, 2));
            out.push(Field::int_be(format!("JPEG width at {at}"), at + 7, 2));
        }
    }
    out
}

#[test]
fn avi_and_mjpeg_survive_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("mutant.avi");
    let read = |p: &Path| -> echoone_data::Result<()> {
        let video = AviVideo::read(p)?;
        for i in 0..video.len().min(4) {
            video.frame(i)?;
        }
        Ok(())
    };
    let seeds = [
        fixtures().join("hmcqu/HMC-QU/A4C/ES0002 _4CH_1.avi"),
        fixtures().join("echonet/Videos/0X1A.avi"),
    ];
    for (k, seed) in seeds.iter().enumerate() {
        let bytes = std::fs::read(seed).unwrap();
        let plan = Plan {
            flips: 200,
            multi: 150,
            ..PLAN
        };
        check(
            "avi+mjpeg",
            &target,
            "mutant.avi",
            variants(
                &name_of(seed),
                &bytes,
                &avi_fields(&bytes),
                plan,
                71 + k as u64,
            ),
            read,
        );
    }
}

/// The MAT v5 header's version and endianness, and every 32-bit word of the first data element
/// (tag type, size, array flags, dimension tag and dimensions).
fn mat_fields(bytes: &[u8]) -> Vec<Field> {
    let mut f = vec![Field::int("version", 124, 2), Field::int("endian", 126, 2)];
    for at in (128..bytes.len().min(128 + 96)).step_by(4) {
        f.push(Field::int(format!("word at {at}"), at, 4));
    }
    f
}

#[test]
fn mat_survives_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("Mask_mutant.mat");
    let masks = fixtures().join("hmcqu/LV Ground-truth Segmentation Masks");
    for (k, seed) in ["Mask_ES0002 _4CH_1.mat", "Mask_ES0001 _4CH_1.mat"]
        .iter()
        .enumerate()
    {
        let bytes = std::fs::read(masks.join(seed)).unwrap();
        let frames = (1..64)
            .find(|&n| echoone_data::mat::read_masks(&masks.join(seed), "predicted", n).is_ok())
            .unwrap();
        check(
            "mat",
            &target,
            "Mask_mutant.mat",
            variants(seed, &bytes, &mat_fields(&bytes), PLAN, 81 + k as u64),
            |p: &Path| echoone_data::mat::read_masks(p, "predicted", frames).map(|_| ()),
        );
    }
}

#[test]
fn xlsx_survives_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("hmcqu");
    copy_dir(&fixtures().join("hmcqu"), &root);
    let _ = std::fs::remove_dir_all(root.join("expected"));
    let target = root.join("A4C.xlsx");
    let needle = root.display().to_string();
    let seeds = [
        fixtures().join("hmcqu/A4C.xlsx"),
        fixtures().join("hmcqu_sheets/start_end_loose_names.xlsx"),
    ];
    for (k, seed) in seeds.iter().enumerate() {
        let bytes = std::fs::read(seed).unwrap();
        let plan = Plan {
            flips: 120,
            multi: 80,
            ..PLAN
        };
        check(
            "xlsx (hmcqu)",
            &target,
            &needle,
            variants(
                &name_of(seed),
                &bytes,
                &zip_fields(&bytes, usize::MAX),
                plan,
                91 + k as u64,
            ),
            |p: &Path| echoone_data::hmcqu::read(p.parent().unwrap()).map(|_| ()),
        );
    }
}

#[test]
fn csv_files_survive_any_content() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("echonet");
    copy_dir(&fixtures().join("echonet"), &root);
    let _ = std::fs::remove_dir_all(root.join("expected"));
    let needle = root.display().to_string();
    for (k, file) in ["FileList.csv", "VolumeTracings.csv"].iter().enumerate() {
        let seed = std::fs::read_to_string(fixtures().join("echonet").join(file)).unwrap();
        let target = root.join(file);
        let list = text_variants(file, &seed, 16, 101 + k as u64);
        check("csv (echonet)", &target, &needle, list, |p: &Path| {
            echoone_data::echonet::read(p.parent().unwrap()).map(|_| ())
        });
        std::fs::write(&target, &seed).unwrap();
    }
    let seed = std::fs::read_to_string(root.join("FileList.csv")).unwrap();
    check(
        "csv (echonet EF references)",
        &root.join("FileList.csv"),
        "FileList.csv",
        text_variants("FileList.csv", &seed, 16, 111),
        |p: &Path| {
            DatasetSpec::EchoNet(p.parent().unwrap().into())
                .references()
                .map(|_| ())
        },
    );
    // ef_reference.csv, written by the crate's own writer.
    let png = dir.path().join("png");
    std::fs::create_dir_all(&png).unwrap();
    let refs: Vec<echoone_data::EfReference> = (0..6)
        .map(|i| echoone_data::EfReference {
            case: format!("case{i:03}"),
            edv_ml: Some(100.0 + i as f64),
            esv_ml: (i % 2 == 0).then_some(45.5),
            ef_pct: Some(55.0 - i as f64),
        })
        .collect();
    let path = png.join("ef_reference.csv");
    echoone_data::reference::write_references(&path, &refs).unwrap();
    let seed = std::fs::read_to_string(&path).unwrap();
    check(
        "csv (ef_reference.csv)",
        &path,
        "ef_reference.csv",
        text_variants("ef_reference.csv", &seed, 16, 121),
        |p: &Path| {
            DatasetSpec::Png(p.parent().unwrap().into())
                .references()
                .map(|_| ())
        },
    );
    // CAMUS Info_2CH.cfg (key: value lines).
    let camus = dir.path().join("camus/database_nifti/patient0001");
    std::fs::create_dir_all(&camus).unwrap();
    let seed = "ED: 1\nES: 14\nNbFrame: 18\nSex: F\nAge: 60\nImageQuality: Good\nLVedv: 101.93\nLVesv: 54.05\nLVef: 47\n";
    check(
        "cfg (camus Info)",
        &camus.join("Info_2CH.cfg"),
        "Info_2CH.cfg",
        text_variants("Info_2CH.cfg", seed, 9, 131),
        |_: &Path| {
            DatasetSpec::Camus(dir.path().join("camus"))
                .references()
                .map(|_| ())
        },
    );
}

#[test]
fn split_file_survives_any_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("splits.json");
    let samples = SyntheticConfig {
        cases: 6,
        width: 32,
        height: 32,
        ..Default::default()
    }
    .generate(1)
    .unwrap();
    let plan = SplitPlan::default();
    echoone_data::split::assign(&mut samples.clone(), &plan, Some(&path)).unwrap();
    let seed = std::fs::read_to_string(&path).unwrap();
    check(
        "json (splits)",
        &path,
        "splits.json",
        text_variants("splits.json", &seed, 16, 141),
        |p: &Path| echoone_data::split::assign(&mut samples.clone(), &plan, Some(p)).map(drop),
    );
}

#[test]
fn png_survives_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("mutant.png");
    let image = image::GrayImage::from_fn(24, 16, |x, y| image::Luma([(x * 10 + y * 3) as u8]));
    let seed = echoone_data::png_io::encode_png(&image).unwrap();
    let mut list = variants("png", &seed, &[], PLAN, 151);
    list.extend(png_ihdr_variants(&seed));
    check("png", &target, "mutant.png", list, |p: &Path| {
        echoone_data::png_io::read_png(p).map(|_| ())
    });
}

#[test]
fn authors_layout_survives_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("layout");
    let mut samples = SyntheticConfig {
        cases: 2,
        width: 32,
        height: 32,
        ..Default::default()
    }
    .generate(1)
    .unwrap();
    samples.truncate(4);
    echoone_data::split::assign(&mut samples, &SplitPlan::default(), None).unwrap();
    echoone_data::authors::write(&root, "SYN", &samples).unwrap();
    let needle = root.display().to_string();
    let read = |_: &Path| echoone_data::authors::read(&root).map(|_| ());
    let mut files: Vec<PathBuf> = vec![
        root.join("MainPatient/class.json"),
        root.join("MainPatient/train.txt"),
        root.join(echoone_data::authors::SAMPLES_JSONL),
    ];
    let img = std::fs::read_dir(root.join("SYN/img"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    files.push(img);
    for (k, file) in files.iter().enumerate() {
        let Ok(seed) = std::fs::read(file) else {
            continue;
        };
        let list = match std::str::from_utf8(&seed) {
            Ok(text) => text_variants(&name_of(file), text, 12, 161 + k as u64),
            Err(_) => {
                let mut l = variants(&name_of(file), &seed, &[], PLAN, 161 + k as u64);
                l.extend(png_ihdr_variants(&seed));
                l
            }
        };
        check("authors layout", file, &needle, list, read);
        std::fs::write(file, &seed).unwrap();
    }
}
