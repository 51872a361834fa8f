//! The mutator: a seeded splitmix64 and the variants of one seed file (truncations, bit flips,
//! header fields set to extreme values, byte edits, deleted and repeated ranges, appended
//! garbage, and for text files numbers replaced and lines deleted or repeated). The same seed
//! gives the same variants on every run and machine.

/// A seeded splitmix64 generator.
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// A header field: where it is, how wide (1, 2, 4 or 8 bytes), its byte order, and whether it
/// holds an f32.
#[derive(Clone, Debug)]
pub struct Field {
    /// What the variant names it.
    pub name: String,
    /// Its first byte.
    pub at: usize,
    /// Its width in bytes: 1, 2, 4 or 8.
    pub width: usize,
    /// Big-endian (else little-endian).
    pub big_endian: bool,
    /// An f32 (`width` 4) rather than an integer.
    pub float: bool,
}

impl Field {
    /// A little-endian integer of `width` bytes at `at`.
    pub fn int(name: impl Into<String>, at: usize, width: usize) -> Self {
        Self {
            name: name.into(),
            at,
            width,
            big_endian: false,
            float: false,
        }
    }

    /// A big-endian integer of `width` bytes at `at`.
    pub fn int_be(name: impl Into<String>, at: usize, width: usize) -> Self {
        Self {
            big_endian: true,
            ..Self::int(name, at, width)
        }
    }

    /// A little-endian f32 at `at`.
    pub fn float(name: impl Into<String>, at: usize) -> Self {
        Self {
            float: true,
            ..Self::int(name, at, 4)
        }
    }

    /// The same field `by` bytes further on (for fields found in a slice of the file).
    pub fn shifted(self, by: usize) -> Self {
        Self {
            at: self.at + by,
            ..self
        }
    }
}

/// The values a field is set to, as bytes: 0, 1, 2, the unsigned and signed extremes, -1, 255,
/// 127 and powers of two (for an f32: 0, -1, NaN, infinity, ±1e30, 4096 and 1e9).
pub fn field_values(f: &Field) -> Vec<Vec<u8>> {
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
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Truncations (every length when the file is shorter).
    pub cuts: usize,
    /// Leading bytes whose every bit is flipped, one variant per bit.
    pub header_bits: usize,
    /// Single-bit flips anywhere.
    pub flips: usize,
    /// Variants with 2 to 16 bits flipped anywhere.
    pub multi: usize,
    /// Variants with a random byte set to 0x00, 0xFF, 0x7F or 0x80, a range deleted or repeated.
    pub bytes: usize,
}

/// The default plan: 80 cuts, the first 16 bytes' 128 bits, 80 single and 80 multi-bit flips,
/// 60 byte edits (about 430 variants of a file over 80 bytes, plus its header fields').
pub const PLAN: Plan = Plan {
    cuts: 80,
    header_bits: 16,
    flips: 80,
    multi: 80,
    bytes: 60,
};

/// The plan for checkpoints, whose every variant is a full model load (~290 variants of a file
/// over 40 bytes, plus its header fields'): 40 cuts, the first 4 bytes' 32 bits, 30 single and
/// 20 multi-bit flips, 20 byte edits.
pub const CHECKPOINT_PLAN: Plan = Plan {
    cuts: 40,
    header_bits: 4,
    flips: 30,
    multi: 20,
    bytes: 20,
};

/// A variant: its name (which says what was changed) and its bytes.
pub type Variant = (String, Vec<u8>);

/// The seeded variants of `seed` (named `what`): truncations, bit flips, header fields set to
/// extreme values, byte edits, deleted and repeated ranges, appended garbage.
pub fn variants(
    what: &str,
    seed: &[u8],
    fields: &[Field],
    plan: Plan,
    rng_seed: u64,
) -> Vec<Variant> {
    let mut rng = Rng::new(rng_seed);
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
    let garbage: Vec<u8> = (0..4096).map(|_| rng.next_u64() as u8).collect();
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

/// The values a number of a text file is replaced by.
const TEXT_VALUES: [&str; 14] = [
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

/// Text files: the byte variants ([`PLAN`]) plus every number (up to `numbers` of them, chosen by
/// the seed) replaced by extreme or malformed values, and up to 40 lines deleted or repeated.
/// The number variants' names contain "number".
pub fn text_variants(what: &str, seed: &str, numbers: usize, rng_seed: u64) -> Vec<Variant> {
    let mut out = variants(what, seed.as_bytes(), &[], PLAN, rng_seed);
    let mut rng = Rng::new(rng_seed ^ 0x5555);
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
        for v in TEXT_VALUES {
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

/// The size, offset and count fields of the zip records of `bytes` (local headers, central
/// directory entries and its end record), records in file order until at least `max` fields
/// are listed (`usize::MAX` for all). PyTorch `.pth` files and XLSX workbooks are zips.
pub fn zip_fields(bytes: &[u8], max: usize) -> Vec<Field> {
    let mut f = Vec::new();
    for at in 0..bytes.len().saturating_sub(4) {
        if f.len() >= max {
            break;
        }
        let fields: &[(&str, usize, usize)] = match &bytes[at..at + 4] {
            [b'P', b'K', 3, 4] => &[
                ("local compressed", 18, 4),
                ("local size", 22, 4),
                ("local name length", 26, 2),
                ("local extra length", 28, 2),
            ],
            [b'P', b'K', 1, 2] => &[
                ("central compressed", 20, 4),
                ("central size", 24, 4),
                ("central name length", 28, 2),
                ("central extra length", 30, 2),
                ("central local offset", 42, 4),
            ],
            [b'P', b'K', 5, 6] => &[
                ("end entries", 10, 2),
                ("end size", 12, 4),
                ("end offset", 16, 4),
            ],
            _ => &[],
        };
        for (name, off, w) in fields {
            f.push(Field::int(format!("{name} at {at}"), at + off, *w));
        }
    }
    f
}

/// `count` variants with one byte in `range` of `seed` changed: alternately one bit flipped, or
/// the byte set to 0x00, 0xFF, 0x7F, 0x80 or a pickle integer opcode (`J`, `K`, `M`). For the
/// inside of a compressed-free container, e.g. the pickle of a PyTorch checkpoint.
pub fn byte_variants_in(
    what: &str,
    seed: &[u8],
    range: std::ops::Range<usize>,
    count: usize,
    rng_seed: u64,
) -> Vec<Variant> {
    let mut rng = Rng::new(rng_seed);
    let range = range.start.min(seed.len())..range.end.min(seed.len());
    if range.is_empty() {
        return Vec::new();
    }
    (0..count)
        .map(|k| {
            let mut v = seed.to_vec();
            let at = range.start + rng.below(range.len());
            let name = if k % 2 == 0 {
                v[at] ^= 1 << rng.below(8);
                format!("{what} byte {at} bit flipped")
            } else {
                let b = [0x00, 0xFF, 0x7F, 0x80, b'J', b'K', b'M'][rng.below(7)];
                v[at] = b;
                format!("{what} byte {at} set to {b:#04x}")
            };
            (name, v)
        })
        .collect()
}

/// Where the stored file whose name ends with `suffix` lies in the zip `bytes` (found through its
/// local header), e.g. `data.pkl` in a PyTorch checkpoint; `None` when there is none.
pub fn zip_entry(bytes: &[u8], suffix: &str) -> Option<std::ops::Range<usize>> {
    let u16_at = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let mut at = 0;
    while at + 30 <= bytes.len() {
        if bytes[at..at + 4] == *b"PK\x03\x04" {
            let size = u32_at(at + 18)? as usize;
            let name_len = u16_at(at + 26)? as usize;
            let extra = u16_at(at + 28)? as usize;
            let name = bytes.get(at + 30..at + 30 + name_len)?;
            let start = at + 30 + name_len + extra;
            if name.ends_with(suffix.as_bytes()) {
                return Some(start..(start + size).min(bytes.len()));
            }
            at = start + size;
        } else {
            at += 1;
        }
    }
    None
}
