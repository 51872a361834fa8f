//! Readers that survive any file: every reader of outside data in echoone-data is fed thousands of
//! truncated, bit-flipped, header-mutated and garbage-extended versions of a valid file (seeded,
//! so every run feeds the same files). Each call must return (no panic), return within 1 s, name
//! the file in its error, and never ask the allocator for more than `ALLOC_LIMIT` bytes at once:
//! this binary's global allocator refuses such a request and names the variant, so a header that
//! claims a huge size must be refused before anything of that size is allocated.
//!
//! Run `cargo test -p echoone-data --test robustness -- --nocapture` to see, per reader, the
//! number of variants, the slowest one and the largest single allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use echoone_data::avi::AviVideo;
use echoone_data::{DatasetSpec, SplitPlan, SyntheticConfig};

// ---------------------------------------------------------------------------------------------
// The allocator: records the largest single request of the current thread, refuses huge ones.

/// The largest single allocation a reader may ask for while reading a small file.
const ALLOC_LIMIT: usize = 1 << 30;

struct Counting;

thread_local! {
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static LABEL: Cell<[u8; 96]> = const { Cell::new([0; 96]) };
}

fn note(size: usize) -> bool {
    let _ = PEAK.try_with(|p| p.set(p.get().max(size)));
    if size > ALLOC_LIMIT {
        let label = LABEL.try_with(|l| l.get()).unwrap_or([0; 96]);
        let end = label.iter().position(|&b| b == 0).unwrap_or(label.len());
        let mut err = std::io::stderr();
        let _ = err.write_all(b"\nrobustness: refused an allocation over 1 GiB while reading ");
        let _ = err.write_all(&label[..end]);
        let _ = err.write_all(b"\n");
        return false;
    }
    true
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !note(layout.size()) {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !note(layout.size()) {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !note(new_size) {
            return std::ptr::null_mut();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn set_label(text: &str) {
    let mut buf = [0u8; 96];
    let n = text.len().min(95);
    buf[..n].copy_from_slice(&text.as_bytes()[..n]);
    LABEL.with(|l| l.set(buf));
}

// ---------------------------------------------------------------------------------------------
// The mutator: a seeded splitmix64 and the variants of one seed file.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A header field: where it is, how wide (1, 2, 4 or 8 bytes), its byte order, and whether it
/// holds an f32.
#[derive(Clone)]
struct Field {
    name: String,
    at: usize,
    width: usize,
    big_endian: bool,
    float: bool,
}

fn int(name: impl Into<String>, at: usize, width: usize) -> Field {
    Field {
        name: name.into(),
        at,
        width,
        big_endian: false,
        float: false,
    }
}

fn int_be(name: impl Into<String>, at: usize, width: usize) -> Field {
    Field {
        big_endian: true,
        ..int(name, at, width)
    }
}

fn float(name: impl Into<String>, at: usize) -> Field {
    Field {
        float: true,
        ..int(name, at, 4)
    }
}

/// The values a field is set to: 0, 1, the unsigned and signed extremes, -1, and powers of two.
fn field_values(f: &Field) -> Vec<Vec<u8>> {
    if f.float {
        return [
            0.0f32,
            -1.0,
            f32::NAN,
            f32::INFINITY,
            1e30,
            -1e30,
            4096.0,
            1e9,
        ]
        .iter()
        .map(|v| v.to_le_bytes().to_vec())
        .collect();
    }
    let bits = 8 * f.width as u32;
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let mut values = vec![0, 1, 2, max, max >> 1, (max >> 1) + 1, max - 1, 255, 0x7F];
    for p in [15u32, 16, 24, 31, 32, 40, 62] {
        if p < bits {
            values.push(1u64 << p);
        }
    }
    values
        .into_iter()
        .map(|v| {
            let le = v.to_le_bytes()[..f.width].to_vec();
            if f.big_endian {
                le.into_iter().rev().collect()
            } else {
                le
            }
        })
        .collect()
}

/// How many variants of each kind one seed file gets.
#[derive(Clone, Copy)]
struct Plan {
    /// Truncations (every length when the file is shorter).
    cuts: usize,
    /// Leading bytes whose every bit is flipped, one variant per bit.
    header_bits: usize,
    /// Single-bit flips anywhere.
    flips: usize,
    /// Variants with 2 to 16 bits flipped anywhere.
    multi: usize,
    /// Variants with a random byte set to 0x00, 0xFF, 0x7F or 0x80, a range deleted or repeated.
    bytes: usize,
}

const PLAN: Plan = Plan {
    cuts: 80,
    header_bits: 16,
    flips: 80,
    multi: 80,
    bytes: 60,
};

type Variant = (String, Vec<u8>);

/// The seeded variants of `seed` (named `what`): truncations, bit flips, header fields set to
/// extreme values, byte edits, deleted and repeated ranges, appended garbage.
fn variants(what: &str, seed: &[u8], fields: &[Field], plan: Plan, rng_seed: u64) -> Vec<Variant> {
    let mut rng = Rng(rng_seed);
    let mut out: Vec<Variant> = Vec::new();
    let n = seed.len();
    // Truncations: every length when short, else evenly spread plus the last bytes.
    let mut cuts: Vec<usize> = if n <= plan.cuts {
        (0..n).collect()
    } else {
        let mut c: Vec<usize> = (0..plan.cuts / 2).collect();
        c.extend((0..plan.cuts / 2).map(|k| k * n / (plan.cuts / 2)));
        c.extend(n.saturating_sub(8)..n);
        c
    };
    cuts.sort_unstable();
    cuts.dedup();
    for c in cuts {
        out.push((format!("{what} cut to {c} bytes"), seed[..c].to_vec()));
    }
    if n == 0 {
        return out;
    }
    for bit in 0..8 * plan.header_bits.min(n) {
        let mut v = seed.to_vec();
        v[bit / 8] ^= 1 << (bit % 8);
        out.push((format!("{what} bit {bit} flipped"), v));
    }
    for _ in 0..plan.flips {
        let bit = rng.below(8 * n);
        let mut v = seed.to_vec();
        v[bit / 8] ^= 1 << (bit % 8);
        out.push((format!("{what} bit {bit} flipped"), v));
    }
    for k in 0..plan.multi {
        let mut v = seed.to_vec();
        let count = 2 + rng.below(15);
        for _ in 0..count {
            let bit = rng.below(8 * n);
            v[bit / 8] ^= 1 << (bit % 8);
        }
        out.push((format!("{what} {count} bits flipped (#{k})"), v));
    }
    for k in 0..plan.bytes {
        let mut v = seed.to_vec();
        let at = rng.below(n);
        let name = match k % 4 {
            0 | 1 => {
                let b = [0x00, 0xFF, 0x7F, 0x80][rng.below(4)];
                v[at] = b;
                format!("{what} byte {at} set to {b:#04x}")
            }
            2 => {
                let len = 1 + rng.below(64.min(n - at));
                v.drain(at..at + len);
                format!("{what} bytes {at}..{} deleted", at + len)
            }
            _ => {
                let len = 1 + rng.below(64.min(n - at));
                let copy = v[at..at + len].to_vec();
                v.splice(at..at, copy);
                format!("{what} bytes {at}..{} repeated", at + len)
            }
        };
        out.push((name, v));
    }
    for f in fields {
        if f.at + f.width > n {
            continue;
        }
        for value in field_values(f) {
            let mut v = seed.to_vec();
            v[f.at..f.at + f.width].copy_from_slice(&value);
            out.push((format!("{what} {} = {value:02x?}", f.name), v));
        }
    }
    let garbage: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
    for (name, tail) in [
        ("zeros", vec![0u8; 1024]),
        ("random bytes", garbage),
        ("a second copy", seed.to_vec()),
    ] {
        let mut v = seed.to_vec();
        v.extend(tail);
        out.push((format!("{what} with {name} appended"), v));
    }
    out
}

/// Text files: the byte variants plus every number (up to `numbers` of them, chosen by the seed)
/// replaced by extreme or malformed values, and lines deleted or repeated.
fn text_variants(what: &str, seed: &str, numbers: usize, rng_seed: u64) -> Vec<Variant> {
    const VALUES: [&str; 14] = [
        "0",
        "-1",
        "4294967295",
        "4294967296",
        "18446744073709551615",
        "9223372036854775807",
        "-9223372036854775808",
        "99999999999999999999999999",
        "1e308",
        "-1e308",
        "NaN",
        "inf",
        "",
        "1.5",
    ];
    let mut out = variants(what, seed.as_bytes(), &[], PLAN, rng_seed);
    let mut rng = Rng(rng_seed ^ 0x5555);
    let bytes = seed.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            spans.push(start..i);
        } else {
            i += 1;
        }
    }
    for _ in 0..numbers.min(spans.len()) {
        let span = spans.swap_remove(rng.below(spans.len()));
        for v in VALUES {
            let text = format!("{}{v}{}", &seed[..span.start], &seed[span.end..]);
            out.push((
                format!("{what} number at byte {} = {v:?}", span.start),
                text.into_bytes(),
            ));
        }
    }
    let lines: Vec<&str> = seed.lines().collect();
    for k in 0..lines.len().min(40) {
        let at = rng.below(lines.len());
        let mut l = lines.clone();
        if k % 2 == 0 {
            l.remove(at);
        } else {
            l.insert(at, lines[at]);
        }
        let verb = if k % 2 == 0 { "deleted" } else { "repeated" };
        out.push((
            format!("{what} line {} {verb}", at + 1),
            l.join("\n").into_bytes(),
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The harness.

/// Runs `read` on every variant written to `target`; collects panics, slow calls, and errors
/// that do not contain `needle` (the file, or for folder readers the dataset folder).
fn check<E: std::fmt::Display>(
    reader: &str,
    target: &Path,
    needle: &str,
    variants: Vec<Variant>,
    read: impl Fn(&Path) -> Result<(), E>,
) {
    let limit = Duration::from_secs(1);
    let mut failures = Vec::new();
    let (mut worst, mut worst_name) = (Duration::ZERO, String::new());
    let (mut peak, mut peak_name) = (0usize, String::new());
    let (mut ok, mut err) = (0usize, 0usize);
    let total = variants.len();
    let clock = Instant::now();
    for (name, bytes) in variants {
        std::fs::write(target, &bytes).unwrap();
        set_label(&format!("{reader}: {name}"));
        PEAK.with(|p| p.set(0));
        let start = Instant::now();
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| read(target)));
        let elapsed = start.elapsed();
        let used = PEAK.with(|p| p.get());
        if used > peak {
            (peak, peak_name) = (used, name.clone());
        }
        if elapsed > worst {
            (worst, worst_name) = (elapsed, name.clone());
        }
        if elapsed > limit {
            failures.push(format!("{name}: took {elapsed:?}"));
        }
        match result {
            Ok(Ok(())) => ok += 1,
            Ok(Err(e)) => {
                err += 1;
                let message = e.to_string();
                if !message.contains(needle) {
                    failures.push(format!("{name}: error without {needle:?}: {message}"));
                }
            }
            Err(payload) => {
                let what = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{name}: panicked: {what}"));
            }
        }
    }
    println!(
        "robustness {reader}: {total} variants ({ok} read, {err} refused) in {:.2} s, slowest {:.1} ms ({worst_name}), largest allocation {} KiB ({peak_name})",
        clock.elapsed().as_secs_f64(),
        worst.as_secs_f64() * 1e3,
        peak / 1024
    );
    assert!(
        failures.is_empty(),
        "{reader}: {} of {total} variants failed:\n{}",
        failures.len(),
        failures
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

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

/// The NIfTI-1 header fields that size or place the data.
fn nifti_fields() -> Vec<Field> {
    let mut f = vec![int("sizeof_hdr", 0, 4)];
    for d in 0..8 {
        f.push(int(format!("dim[{d}]"), 40 + 2 * d, 2));
    }
    f.push(int("datatype", 70, 2));
    f.push(int("bitpix", 72, 2));
    f.push(float("pixdim[1]", 80));
    f.push(float("vox_offset", 108));
    f.push(float("scl_slope", 112));
    f.push(int("magic", 344, 4));
    f.push(int("extension", 348, 4));
    f
}

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
            &nifti_fields(),
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
        let compressed: Vec<Variant> = variants(seed, &nii, &nifti_fields(), small, 21 + k as u64)
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
            set_label(&format!("nifti {name} claiming {dims:?}"));
            PEAK.with(|p| p.set(0));
            let start = Instant::now();
            let e = echoone_data::nifti_io::read(&path).unwrap_err().to_string();
            assert!(start.elapsed() < Duration::from_secs(1));
            assert!(e.contains(name), "{e}");
            let peak = PEAK.with(|p| p.get());
            assert!(
                peak < 1 << 20,
                "{name}: allocated {peak} bytes for a refused header"
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
                &[int("zlib header", 0, 2)],
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
        set_label(&format!("mhd claiming {dims}"));
        PEAK.with(|p| p.set(0));
        let start = Instant::now();
        let e = echoone_data::mhd::read(&path).unwrap_err().to_string();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(e.contains("huge.mhd"), "{e}");
        let peak = PEAK.with(|p| p.get());
        assert!(
            peak < 4 << 20,
            "{dims}: allocated {peak} bytes for a refused header"
        );
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
            out.push(int(
                format!("size of '{}' at {at}", String::from_utf8_lossy(&id[..])),
                at + 4,
                4,
            ));
        }
        // JPEG start of frame: height and width (big-endian) of the first frames.
        if bytes[at..at + 2] == [0xFF, 0xC0] && out.len() < 48 {
            out.push(int_be(format!("JPEG height at {at}"), at + 5, 2));
            out.push(int_be(format!("JPEG width at {at}"), at + 7, 2));
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
    let mut f = vec![int("version", 124, 2), int("endian", 126, 2)];
    for at in (128..bytes.len().min(128 + 96)).step_by(4) {
        f.push(int(format!("word at {at}"), at, 4));
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

/// The size, offset and count fields of every zip record (local headers, central directory and
/// its end record).
fn zip_fields(bytes: &[u8]) -> Vec<Field> {
    let mut f = Vec::new();
    for at in 0..bytes.len().saturating_sub(4) {
        match &bytes[at..at + 4] {
            [b'P', b'K', 3, 4] => {
                for (name, off, w) in [
                    ("compressed", 18, 4),
                    ("size", 22, 4),
                    ("name length", 26, 2),
                    ("extra length", 28, 2),
                ] {
                    f.push(int(format!("local {name} at {at}"), at + off, w));
                }
            }
            [b'P', b'K', 1, 2] => {
                for (name, off, w) in [
                    ("compressed", 20, 4),
                    ("size", 24, 4),
                    ("name length", 28, 2),
                    ("extra length", 30, 2),
                    ("local offset", 42, 4),
                ] {
                    f.push(int(format!("central {name} at {at}"), at + off, w));
                }
            }
            [b'P', b'K', 5, 6] => {
                for (name, off, w) in [("entries", 10, 2), ("size", 12, 4), ("offset", 16, 4)] {
                    f.push(int(format!("end {name} at {at}"), at + off, w));
                }
            }
            _ => {}
        }
    }
    f
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
                &zip_fields(&bytes),
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
            echoone_data::read_references(&DatasetSpec::EchoNet(p.parent().unwrap().into()))
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
            echoone_data::read_references(&DatasetSpec::Png(p.parent().unwrap().into())).map(|_| ())
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
            echoone_data::read_references(&DatasetSpec::Camus(dir.path().join("camus"))).map(|_| ())
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
        |p: &Path| echoone_data::split::assign(&mut samples.clone(), &plan, Some(p)),
    );
}

/// A PNG with its IHDR field at `at` (`width` bytes) set to `value` and the chunk's CRC fixed,
/// so the decoder sees the claimed size instead of a checksum error.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

fn png_ihdr_variants(seed: &[u8]) -> Vec<Variant> {
    let fields = [
        int_be("IHDR width", 16, 4),
        int_be("IHDR height", 20, 4),
        int("IHDR bit depth", 24, 1),
        int("IHDR colour type", 25, 1),
        int("IHDR interlace", 28, 1),
    ];
    let mut out = Vec::new();
    for (name, mut v) in variants(
        "png",
        seed,
        &fields,
        Plan {
            cuts: 0,
            header_bits: 0,
            flips: 0,
            multi: 0,
            bytes: 0,
        },
        0,
    )
    .into_iter()
    .filter(|(n, _)| n.contains("IHDR"))
    {
        let crc = crc32(&v[12..29]);
        v[29..33].copy_from_slice(&crc.to_be_bytes());
        out.push((format!("{name} (CRC fixed)"), v));
    }
    // Both sides at once: 2^31 - 1 squared, and 65535 squared.
    for side in [0x7FFF_FFFFu32, 65_535, 1 << 20] {
        let mut v = seed.to_vec();
        v[16..20].copy_from_slice(&side.to_be_bytes());
        v[20..24].copy_from_slice(&side.to_be_bytes());
        let crc = crc32(&v[12..29]);
        v[29..33].copy_from_slice(&crc.to_be_bytes());
        out.push((format!("png claiming {side}x{side} (CRC fixed)"), v));
    }
    out
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
