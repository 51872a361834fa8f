//! Readers that survive any file: the `.npy` reader and the SAM checkpoint loader (PyTorch
//! `.pth` zip archives and safetensors) are fed thousands of truncated, bit-flipped,
//! header-mutated and garbage-extended versions of valid files (seeded). Each call must return
//! (no panic), within 1 s, with an error naming the file, and never ask the allocator for more
//! than `ALLOC_LIMIT` bytes at once (this binary's allocator refuses such a request and names the
//! variant). The same harness as `crates/data/tests/robustness.rs`.
//!
//! `cargo test -p echoone-sam --test robustness -- --nocapture` prints, per reader, the number
//! of variants, the slowest one and the largest single allocation.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Cpu, fixtures, tiny_config};
use echoone_sam::npy::{encode_f32, read_npy};
use echoone_sam::{LoadOptions, load_checkpoint};

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
    mut read: impl FnMut(&Path) -> Result<(), E>,
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

/// The size, offset and count fields of every zip record (local headers, central directory and
/// its end record), at most `max` of them.
fn zip_fields(bytes: &[u8], max: usize) -> Vec<Field> {
    let mut f = Vec::new();
    for at in 0..bytes.len().saturating_sub(4) {
        if f.len() >= max {
            break;
        }
        let fields: &[(&str, usize, usize)] = match &bytes[at..at + 4] {
            [b'P', b'K', 3, 4] => &[
                ("compressed", 18, 4),
                ("size", 22, 4),
                ("name length", 26, 2),
                ("extra length", 28, 2),
            ],
            [b'P', b'K', 1, 2] => &[
                ("compressed", 20, 4),
                ("size", 24, 4),
                ("name length", 28, 2),
                ("local offset", 42, 4),
            ],
            [b'P', b'K', 5, 6] => &[("entries", 10, 2), ("size", 12, 4), ("offset", 16, 4)],
            _ => &[],
        };
        for (name, off, w) in fields {
            f.push(int(format!("zip {name} at {at}"), at + off, *w));
        }
    }
    f
}

#[test]
fn npy_survives_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("mutant.npy");
    let data: Vec<f32> = (0..24).map(|v| v as f32 * 0.5).collect();
    let fields = [int("version", 6, 1), int("header length", 8, 2)];
    let mut list = Vec::new();
    for (k, shape) in [vec![2usize, 3, 4], vec![24]].iter().enumerate() {
        let seed = encode_f32(&data, shape);
        list.extend(variants("f32 npy", &seed, &fields, PLAN, 201 + k as u64));
        // The header's text: shape and dtype replaced by extreme values.
        let text = String::from_utf8_lossy(&seed).into_owned();
        // The header length field is fixed up, so the mutated header is parsed whole.
        list.extend(
            text_variants("npy header", &text, 8, 211 + k as u64)
                .into_iter()
                .filter(|(n, _)| n.contains("number"))
                .map(|(n, mut v)| {
                    let header =
                        (seed[8] as usize | (seed[9] as usize) << 8) + v.len() - seed.len();
                    v[8..10].copy_from_slice(&(header as u16).to_le_bytes());
                    (n, v)
                }),
        );
    }
    for dtype in ["<f8", "|u1", "<i8", ">f4", "<c8"] {
        let seed = String::from_utf8_lossy(&encode_f32(&data, &[2, 3, 4]))
            .replace("<f4", dtype)
            .into_bytes();
        list.push((format!("npy with dtype {dtype}"), seed));
    }
    let fixture = std::fs::read(fixtures().join("tiny/image0/image.npy")).unwrap();
    list.extend(variants("image.npy", &fixture, &fields, PLAN, 221));
    check("npy", &target, "mutant.npy", list, |p: &Path| {
        read_npy(p).map(|_| ())
    });
}

#[test]
fn npy_header_claiming_huge_sizes_is_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.npy");
    for shape in [
        vec![1usize << 32, 1 << 32],
        vec![usize::MAX, 2],
        vec![1 << 40],
    ] {
        // A valid header claiming `shape`, followed by 16 bytes of data.
        let mut bytes = encode_f32(&[0.0; 4], &shape);
        bytes.truncate(bytes.len() - 16);
        bytes.extend([0u8; 16]);
        std::fs::write(&path, bytes).unwrap();
        let shape = format!("{shape:?}");
        set_label(&format!("npy claiming {shape}"));
        PEAK.with(|p| p.set(0));
        let start = Instant::now();
        let e = read_npy(&path).unwrap_err().to_string();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(e.contains("huge.npy"), "{e}");
        assert!(PEAK.with(|p| p.get()) < 1 << 20);
    }
}

/// A plan for the 1.3 MB checkpoints: fewer variants, each one a full load.
const CHECKPOINT_PLAN: Plan = Plan {
    cuts: 40,
    header_bits: 4,
    flips: 30,
    multi: 20,
    bytes: 20,
};

#[test]
fn checkpoints_survive_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = tiny_config().init::<Cpu>(&Default::default()).unwrap();
    let options = LoadOptions::default();
    // safetensors: an 8-byte header length, a JSON header (mutated as text), the tensor data.
    let seed = std::fs::read(fixtures().join("tiny.safetensors")).unwrap();
    let header_len = u64::from_le_bytes(seed[..8].try_into().unwrap()) as usize;
    let mut list = variants(
        "tiny.safetensors",
        &seed,
        &[int("header length", 0, 8)],
        CHECKPOINT_PLAN,
        301,
    );
    let json = String::from_utf8_lossy(&seed[8..8 + header_len]).into_owned();
    let mut rng = Rng(303);
    for (name, header) in text_variants("safetensors header", &json, 24, 302)
        .into_iter()
        .filter(|(n, _)| n.contains("number"))
        .filter(|_| rng.below(4) == 0)
    {
        // Keep the declared length equal to the header's, so the mutated text is parsed.
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend(header);
        v.extend(&seed[8 + header_len..]);
        list.push((name, v));
    }
    let target = dir.path().join("mutant.safetensors");
    check(
        "safetensors",
        &target,
        "mutant.safetensors",
        list,
        |p: &Path| load_checkpoint(&mut model, p, &options).map(|_| ()),
    );
    // .pth: a zip archive whose data.pkl (the pickle) is mutated in place.
    let seed = std::fs::read(fixtures().join("tiny.pth")).unwrap();
    // The zip fields of data.pkl's local header, and of the central directory's end.
    let mut fields = zip_fields(&seed, 4);
    let end = seed.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
    fields.extend(zip_fields(&seed[end..], 3).into_iter().map(|f| Field {
        at: f.at + end,
        ..f
    }));
    let mut list = variants("tiny.pth", &seed, &fields, CHECKPOINT_PLAN, 311);
    let pkl = seed
        .windows(13)
        .position(|w| w == b"tiny/data.pkl")
        .unwrap()
        + 13;
    let mut rng = Rng(312);
    for k in 0..80 {
        let mut v = seed.clone();
        let at = pkl + rng.below(36_000);
        let name = if k % 2 == 0 {
            v[at] ^= 1 << rng.below(8);
            format!("tiny.pth data.pkl byte {at} bit flipped")
        } else {
            let b = [0x00, 0xFF, 0x7F, 0x80, b'J', b'K', b'M'][rng.below(7)];
            v[at] = b;
            format!("tiny.pth data.pkl byte {at} set to {b:#04x}")
        };
        list.push((name, v));
    }
    let target = dir.path().join("mutant.pth");
    check("pth", &target, "mutant.pth", list, |p: &Path| {
        load_checkpoint(&mut model, p, &options).map(|_| ())
    });
}
