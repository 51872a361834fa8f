//! A minimal `torch.save` writer, so that a test can write a small PyTorch checkpoint as its
//! seed instead of committing one: a zip archive (stored entries) holding `archive/data.pkl`, a
//! pickle (protocol 2) of a dict of `torch._utils._rebuild_tensor_v2` calls, one
//! `archive/data/{i}` file of little-endian f32 per tensor, and `archive/version`.

/// One tensor of a state dict: its key, its shape, and its values in row-major order.
pub struct StateTensor {
    /// The state-dict key, e.g. `image_encoder.pos_embed`.
    pub key: String,
    /// The shape, outermost first.
    pub shape: Vec<usize>,
    /// The values, `shape.iter().product()` of them.
    pub values: Vec<f32>,
}

/// The CRC-32 (IEEE) of `bytes`, as zip and PNG use it.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

fn unicode(out: &mut Vec<u8>, text: &str) {
    out.push(b'X');
    out.extend((text.len() as u32).to_le_bytes());
    out.extend(text.as_bytes());
}

fn int(out: &mut Vec<u8>, value: usize) {
    out.push(b'J');
    out.extend((value as i32).to_le_bytes());
}

fn global(out: &mut Vec<u8>, module: &str, name: &str) {
    out.push(b'c');
    out.extend(format!("{module}\n{name}\n").as_bytes());
}

fn int_tuple(out: &mut Vec<u8>, values: impl IntoIterator<Item = usize>) {
    out.push(b'(');
    for v in values {
        int(out, v);
    }
    out.push(b't');
}

/// The pickle `torch.save(state_dict)` writes for `tensors` (storage `i` for tensor `i`).
fn pickle(tensors: &[StateTensor]) -> Vec<u8> {
    let mut out = vec![0x80, 2, b'}', b'('];
    for (i, t) in tensors.iter().enumerate() {
        unicode(&mut out, &t.key);
        global(&mut out, "torch._utils", "_rebuild_tensor_v2");
        out.push(b'(');
        // The storage, as a persistent id: ('storage', FloatStorage, key, 'cpu', numel).
        out.push(b'(');
        unicode(&mut out, "storage");
        global(&mut out, "torch", "FloatStorage");
        unicode(&mut out, &i.to_string());
        unicode(&mut out, "cpu");
        int(&mut out, t.values.len());
        out.extend([b't', b'Q']);
        int(&mut out, 0);
        int_tuple(&mut out, t.shape.iter().copied());
        let strides: Vec<usize> = (0..t.shape.len())
            .map(|d| t.shape[d + 1..].iter().product())
            .collect();
        int_tuple(&mut out, strides);
        out.push(0x89); // requires_grad = False
        global(&mut out, "collections", "OrderedDict");
        out.extend([b')', b'R', b't', b'R']);
    }
    out.extend([b'u', b'.']);
    out
}

/// A zip archive of `files` (name, contents), every entry stored uncompressed.
pub fn zip_stored(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        // Local header: version 20, no flags, stored, a fixed date.
        out.extend(0x0403_4b50u32.to_le_bytes());
        for v in [20u16, 0, 0, 0, 0x21] {
            out.extend(v.to_le_bytes());
        }
        out.extend(crc.to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend((name.len() as u16).to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(name.as_bytes());
        out.extend(data);
        // Its central directory entry.
        central.extend(0x0201_4b50u32.to_le_bytes());
        for v in [20u16, 20, 0, 0, 0, 0x21] {
            central.extend(v.to_le_bytes());
        }
        central.extend(crc.to_le_bytes());
        central.extend(size.to_le_bytes());
        central.extend(size.to_le_bytes());
        central.extend((name.len() as u16).to_le_bytes());
        for v in [0u16, 0, 0, 0] {
            central.extend(v.to_le_bytes());
        }
        central.extend(0u32.to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let (at, size) = (out.len() as u32, central.len() as u32);
    out.extend(central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    let count = files.len() as u16;
    for v in [0u16, 0, count, count] {
        out.extend(v.to_le_bytes());
    }
    out.extend(size.to_le_bytes());
    out.extend(at.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// The bytes of `torch.save(state_dict)` for `tensors` (f32, contiguous, on the CPU), as the
/// zip archive PyTorch 1.6+ writes (without its 64-byte data alignment).
pub fn state_dict_pth(tensors: &[StateTensor]) -> Vec<u8> {
    let mut files = vec![("archive/data.pkl".to_string(), pickle(tensors))];
    for (i, t) in tensors.iter().enumerate() {
        let data = t.values.iter().flat_map(|v| v.to_le_bytes()).collect();
        files.push((format!("archive/data/{i}"), data));
    }
    files.push(("archive/version".to_string(), b"3\n".to_vec()));
    zip_stored(&files)
}
