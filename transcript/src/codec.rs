//! The stored form: a small header, then the JSON of the [`Transcript`] compressed with zlib.
//!
//! Layout: the 4 magic bytes `TBTX`, the format version as a little-endian `u32`, then a zlib
//! stream (with its Adler-32 checksum, so damage is noticed) of the JSON.

use std::io::{Read, Write};

use flate2::{read::ZlibDecoder, write::ZlibEncoder, Compression};

use crate::model::{Transcript, FORMAT_VERSION};

/// First bytes of every encoded transcript.
pub const MAGIC: &[u8; 4] = b"TBTX";

/// Largest decompressed JSON [`decode`] accepts (a guard against corrupt or hostile input).
pub const MAX_DECODED_BYTES: u64 = 1024 * 1024 * 1024;

const HEADER_LEN: usize = MAGIC.len() + 4;

/// Why stored bytes could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    /// The bytes do not start with [`MAGIC`]: not a transcript.
    #[error("not a transcript (bad header)")]
    BadHeader,
    /// Written by a newer (or unknown) format.
    #[error("unsupported transcript format version {0} (this build reads {FORMAT_VERSION})")]
    UnsupportedVersion(u32),
    /// The compressed stream is damaged or truncated.
    #[error("transcript data is damaged: {0}")]
    Corrupt(#[source] std::io::Error),
    /// More than [`MAX_DECODED_BYTES`] once decompressed.
    #[error("transcript is larger than {MAX_DECODED_BYTES} bytes decompressed")]
    TooLarge,
    /// Decompressed, but not a valid transcript document.
    #[error("transcript content is invalid: {0}")]
    Json(#[from] serde_json::Error),
}

/// The bytes to store for `transcript`.
pub fn encode(transcript: &Transcript) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        1024 + transcript
            .assets
            .iter()
            .map(|a| a.data.len())
            .sum::<usize>(),
    );
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    // Fast compression: most of the bytes are images (already compressed); the text still
    // shrinks 20-fold. Buffered, as the compressor is slow with serde's many small writes.
    let z = ZlibEncoder::new(out, Compression::fast());
    let mut w = std::io::BufWriter::with_capacity(256 * 1024, z);
    // Writing into a Vec cannot fail, and the model always serializes (string keys, no
    // non-finite floats).
    serde_json::to_writer(&mut w, transcript).expect("transcript serializes");
    w.flush().expect("write to Vec");
    let z = w
        .into_inner()
        .map_err(|e| e.into_error())
        .expect("write to Vec");
    z.finish().expect("write to Vec")
}

/// Reads bytes made by [`encode`]. Damaged or foreign input is an error, never a panic.
pub fn decode(bytes: &[u8]) -> Result<Transcript, TranscriptError> {
    if bytes.len() < HEADER_LEN || &bytes[..MAGIC.len()] != MAGIC {
        return Err(TranscriptError::BadHeader);
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&bytes[MAGIC.len()..HEADER_LEN]);
    let version = u32::from_le_bytes(v);
    if version != FORMAT_VERSION {
        return Err(TranscriptError::UnsupportedVersion(version));
    }
    let mut json = Vec::with_capacity(bytes.len().saturating_mul(3).min(256 << 20));
    ZlibDecoder::new(&bytes[HEADER_LEN..])
        .take(MAX_DECODED_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(TranscriptError::Corrupt)?;
    if json.len() as u64 > MAX_DECODED_BYTES {
        return Err(TranscriptError::TooLarge);
    }
    Ok(serde_json::from_slice(&json)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{basic, hostile};

    #[test]
    fn round_trip() {
        for t in [basic(), hostile()] {
            let bytes = encode(&t);
            assert_eq!(&bytes[..4], MAGIC);
            assert_eq!(decode(&bytes).unwrap(), t);
        }
    }

    #[test]
    fn compresses() {
        let mut t = basic();
        for i in 0..500 {
            t.messages.push(crate::fixture::message(
                1000 + i,
                1,
                i as i64,
                "the same words again and again",
            ));
        }
        let json = serde_json::to_vec(&t).unwrap();
        let bytes = encode(&t);
        assert!(
            bytes.len() * 5 < json.len(),
            "{} vs {}",
            bytes.len(),
            json.len()
        );
    }

    #[test]
    fn corrupt_input_is_an_error() {
        let good = encode(&basic());
        assert!(matches!(decode(b""), Err(TranscriptError::BadHeader)));
        assert!(matches!(decode(b"TBT"), Err(TranscriptError::BadHeader)));
        assert!(matches!(
            decode(b"{\"version\":1}"),
            Err(TranscriptError::BadHeader)
        ));
        let mut v2 = good.clone();
        v2[4] = 2;
        assert!(matches!(
            decode(&v2),
            Err(TranscriptError::UnsupportedVersion(2))
        ));
        // Truncated at every length.
        for n in 0..good.len() {
            assert!(decode(&good[..n]).is_err(), "truncated to {n}");
        }
        // Each byte flipped: an error or (rarely, if the change is harmless) a transcript;
        // never a panic.
        for i in 8..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x55;
            let _ = decode(&bad);
        }
        // Valid zlib, invalid JSON.
        let mut junk = MAGIC.to_vec();
        junk.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        let mut z = ZlibEncoder::new(junk, Compression::default());
        z.write_all(b"{\"not\": \"a transcript\"}").unwrap();
        let junk = z.finish().unwrap();
        let err = decode(&junk).unwrap_err();
        assert!(matches!(err, TranscriptError::Json(_)), "{err}");
        assert!(err.to_string().starts_with("transcript content is invalid"));
    }

    #[test]
    fn json_snowflakes_are_strings_and_numbers_are_accepted() {
        let t = basic();
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["messages"][0]["id"], "100");
        assert_eq!(json["summary"]["guild_id"], "900");
        assert_eq!(json["summary"]["participants"][0], "3");
        assert_eq!(json["assets"][1]["data"], "aGVsbG8=");
        let mut numeric = json.clone();
        numeric["messages"][0]["id"] = serde_json::json!(100);
        numeric["summary"]["claimed_by"] = serde_json::json!(2);
        let back: crate::Transcript = serde_json::from_value(numeric).unwrap();
        assert_eq!(back, t);
    }
}
