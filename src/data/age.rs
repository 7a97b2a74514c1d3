//! The age file format (<https://age-encryption.org/v1>) with a passphrase: the one recipient
//! type an encrypted backup uses (`scrypt`). The tests check it both ways against the `age` crate
//! (what `rage` is built on): each reads what the other writes.
//!
//! atk implements this part of the format itself rather than linking the `age` crate: that crate
//! brings its own localization runtime (fluent, i18n-embed, embedded translations) and X25519 and
//! SSH code that a passphrase never uses, and the release archives must stay under 5 MB.
//!
//! * Header: `age-encryption.org/v1`, one stanza `-> scrypt <salt> <log2 N>` whose body is the
//!   16-byte file key sealed with ChaCha20-Poly1305 under `scrypt(passphrase,
//!   "age-encryption.org/v1/scrypt" || salt, N, r = 8, p = 1)`, then `--- <MAC>`: HMAC-SHA256 of
//!   the header (up to `---`) under HKDF-SHA256(file key, info `header`).
//! * Payload: a 16-byte nonce, then 64 KiB chunks, each sealed with ChaCha20-Poly1305 under
//!   HKDF-SHA256(file key, salt nonce, info `payload`); the chunk's nonce is its number (11 bytes,
//!   big-endian) and a last-chunk flag.

use std::io::{self, BufRead, Read, Write};

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The first line of every age file.
pub const MAGIC: &[u8] = b"age-encryption.org/v1\n";
const SCRYPT_LABEL: &[u8] = b"age-encryption.org/v1/scrypt";
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
/// The longest header line atk reads (a stanza line or a body line is far shorter).
const LONGEST_LINE: usize = 1024;

/// Why a file cannot be decrypted.
#[derive(Debug)]
pub enum DecryptError {
    /// The passphrase does not open it.
    WrongPassphrase,
    /// Not an age file of a passphrase, damaged, or asking for more work than allowed.
    Invalid(String),
    Io(io::Error),
}

impl From<io::Error> for DecryptError {
    fn from(e: io::Error) -> Self {
        DecryptError::Io(e)
    }
}

fn invalid(why: impl Into<String>) -> DecryptError {
    DecryptError::Invalid(why.into())
}

fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    hkdf::Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, &mut out).expect("32 bytes is a valid length");
    out
}

fn scrypt_key(passphrase: &str, salt: &[u8; 16], log_n: u8) -> Result<[u8; 32], DecryptError> {
    let mut full = SCRYPT_LABEL.to_vec();
    full.extend_from_slice(salt);
    let params = scrypt::Params::new(log_n, 8, 1, 32).map_err(|e| invalid(format!("scrypt: {e}")))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(passphrase.as_bytes(), &full, &params, &mut key).map_err(|e| invalid(format!("scrypt: {e}")))?;
    Ok(key)
}

fn header_mac(file_key: &[u8; 16], header: &[u8]) -> [u8; 32] {
    let key = hkdf(&[], file_key, b"header");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(header);
    mac.finalize().into_bytes().into()
}

fn chunk_nonce(counter: u64, last: bool) -> Nonce {
    let mut nonce = [0u8; 12];
    nonce[3..11].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = u8::from(last);
    Nonce::from(nonce)
}

fn random<const N: usize>() -> io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| io::Error::other(format!("no random bytes: {e}")))?;
    Ok(bytes)
}

/// Encrypts what is written to it into `out`, as an age file for `passphrase` with scrypt's work
/// factor `log_n`. [`Writer::finish`] writes the last chunk; a writer dropped without it leaves a
/// file no reader takes.
pub struct Writer<W: Write> {
    out: W,
    aead: ChaCha20Poly1305,
    buf: Vec<u8>,
    counter: u64,
}

impl<W: Write> Writer<W> {
    pub fn new(mut out: W, passphrase: &str, log_n: u8) -> io::Result<Writer<W>> {
        let file_key: [u8; 16] = random()?;
        let salt: [u8; 16] = random()?;
        let key = scrypt_key(passphrase, &salt, log_n).map_err(|e| io::Error::other(format!("{e:?}")))?;
        let wrapped = ChaCha20Poly1305::new(Key::from_slice(&key))
            .encrypt(&Nonce::default(), &file_key[..])
            .map_err(|_| io::Error::other("cannot seal the file key"))?;
        let mut header = MAGIC.to_vec();
        header.extend_from_slice(format!("-> scrypt {} {log_n}\n", B64.encode(salt)).as_bytes());
        // The body's base64 in lines of 64 columns, the last one shorter (here: 43 columns).
        header.extend_from_slice(B64.encode(&wrapped).as_bytes());
        header.extend_from_slice(b"\n---");
        let mac = header_mac(&file_key, &header);
        header.extend_from_slice(format!(" {}\n", B64.encode(mac)).as_bytes());
        let nonce: [u8; 16] = random()?;
        header.extend_from_slice(&nonce);
        out.write_all(&header)?;
        let payload_key = hkdf(&nonce, &file_key, b"payload");
        let aead = ChaCha20Poly1305::new(Key::from_slice(&payload_key));
        Ok(Writer { out, aead, buf: Vec::with_capacity(CHUNK + 1), counter: 0 })
    }

    fn seal(&mut self, len: usize, last: bool) -> io::Result<()> {
        let sealed = self
            .aead
            .encrypt(&chunk_nonce(self.counter, last), &self.buf[..len])
            .map_err(|_| io::Error::other("cannot seal a chunk"))?;
        self.out.write_all(&sealed)?;
        self.buf.drain(..len);
        self.counter = self.counter.checked_add(1).ok_or_else(|| io::Error::other("too many chunks"))?;
        Ok(())
    }

    /// Writes the last chunk; returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        let len = self.buf.len();
        self.seal(len, true)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Writer<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        // A full chunk is sealed as not the last only once a byte after it is known.
        while self.buf.len() > CHUNK {
            self.seal(CHUNK, false)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Reads one header line (without its `\n`), at most [`LONGEST_LINE`] bytes.
fn line(input: &mut impl BufRead, header: &mut Vec<u8>) -> Result<Vec<u8>, DecryptError> {
    let mut l = Vec::new();
    input.take(LONGEST_LINE as u64 + 1).read_until(b'\n', &mut l)?;
    if l.last() != Some(&b'\n') {
        return Err(invalid("its header is cut short or has a line too long"));
    }
    header.extend_from_slice(&l);
    l.pop();
    Ok(l)
}

/// The decrypting reader of an age file encrypted with a passphrase: the header is read and
/// checked (a work factor above `max_log_n` is refused before any work), the passphrase tried.
pub fn decrypt<R: BufRead>(mut input: R, passphrase: &str, max_log_n: u8) -> Result<Reader<R>, DecryptError> {
    let mut header = Vec::new();
    if line(&mut input, &mut header)? != MAGIC[..MAGIC.len() - 1] {
        return Err(invalid("it is not an age file"));
    }
    let stanza = line(&mut input, &mut header)?;
    let stanza = String::from_utf8(stanza).map_err(|_| invalid("its header is not text"))?;
    let args: Vec<&str> = stanza.split(' ').collect();
    if args.first() != Some(&"->") {
        return Err(invalid("its header has no recipient"));
    }
    if args.get(1) != Some(&"scrypt") {
        return Err(invalid("it is encrypted to a key, not with a passphrase"));
    }
    let [_, _, salt, log_n] = args[..] else { return Err(invalid("its scrypt stanza is malformed")) };
    let salt: [u8; 16] =
        B64.decode(salt).ok().and_then(|s| s.try_into().ok()).ok_or_else(|| invalid("its scrypt salt is malformed"))?;
    if log_n.is_empty() || log_n.starts_with('0') || !log_n.bytes().all(|b| b.is_ascii_digit()) || log_n.len() > 2 {
        return Err(invalid("its scrypt work factor is malformed"));
    }
    let log_n: u8 = log_n.parse().map_err(|_| invalid("its scrypt work factor is malformed"))?;
    if log_n > max_log_n {
        return Err(invalid(format!("it asks for scrypt work factor {log_n}, more than the {max_log_n} atk allows")));
    }
    let body = line(&mut input, &mut header)?;
    let wrapped = B64.decode(&body).ok().filter(|w| w.len() == 32 && body.len() < 64);
    let Some(wrapped) = wrapped else { return Err(invalid("its scrypt stanza's body is malformed")) };
    // The scrypt stanza must be the only one: the next line is the MAC's.
    let mac_line = line(&mut input, &mut header)?;
    let Some(mac) = mac_line.strip_prefix(b"--- ") else {
        return Err(invalid("a passphrase-encrypted age file has one recipient, this has more"));
    };
    let mac: [u8; 32] =
        B64.decode(mac).ok().and_then(|m| m.try_into().ok()).ok_or_else(|| invalid("its header MAC is malformed"))?;
    let key = scrypt_key(passphrase, &salt, log_n)?;
    let file_key: [u8; 16] = ChaCha20Poly1305::new(Key::from_slice(&key))
        .decrypt(&Nonce::default(), &wrapped[..])
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or(DecryptError::WrongPassphrase)?;
    // The MAC covers the header up to `---` (the line's space and MAC excluded).
    let covered = header.len() - mac_line.len() - 1 + 3;
    let want = header_mac(&file_key, &header[..covered]);
    use subtle::ConstantTimeEq;
    if !bool::from(want.ct_eq(&mac)) {
        return Err(invalid("its header was changed"));
    }
    let mut nonce = [0u8; 16];
    input.read_exact(&mut nonce).map_err(|_| invalid("it has no payload"))?;
    let payload_key = hkdf(&nonce, &file_key, b"payload");
    Ok(Reader {
        input,
        aead: ChaCha20Poly1305::new(Key::from_slice(&payload_key)),
        sealed: Vec::with_capacity(CHUNK + TAG + 1),
        plain: Vec::new(),
        at: 0,
        counter: 0,
        done: false,
    })
}

/// What [`decrypt`] gives: the plaintext, chunk by chunk, each checked before a byte of it is
/// given; a changed, missing, added or reordered chunk is an error (`InvalidData`).
pub struct Reader<R> {
    input: R,
    aead: ChaCha20Poly1305,
    sealed: Vec<u8>,
    plain: Vec<u8>,
    at: usize,
    counter: u64,
    done: bool,
}

impl<R: Read> Reader<R> {
    fn next_chunk(&mut self) -> io::Result<()> {
        let damaged = |why: &str| io::Error::new(io::ErrorKind::InvalidData, format!("the encrypted payload {why}"));
        // A chunk and one byte more: whether another follows tells whether this is the last.
        let want = CHUNK + TAG + 1;
        while self.sealed.len() < want {
            let had = self.sealed.len();
            self.sealed.resize(want, 0);
            let n = self.input.read(&mut self.sealed[had..])?;
            self.sealed.truncate(had + n);
            if n == 0 {
                break;
            }
        }
        let last = self.sealed.len() < want;
        let len = if last { self.sealed.len() } else { CHUNK + TAG };
        if len < TAG || (last && len == TAG && self.counter > 0) {
            return Err(damaged("is cut short"));
        }
        let plain = self
            .aead
            .decrypt(&chunk_nonce(self.counter, last), &self.sealed[..len])
            .map_err(|_| damaged("was changed, cut short or extended"))?;
        self.sealed.drain(..len);
        self.counter += 1;
        self.plain = plain;
        self.at = 0;
        self.done = last;
        Ok(())
    }
}

impl<R: Read> Read for Reader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.plain.len() {
            if self.done {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = out.len().min(self.plain.len() - self.at);
        out[..n].copy_from_slice(&self.plain[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::SecretString;

    fn encrypt_here(plain: &[u8], pass: &str) -> Vec<u8> {
        let mut w = Writer::new(Vec::new(), pass, 10).unwrap();
        w.write_all(plain).unwrap();
        w.finish().unwrap()
    }

    fn decrypt_here(file: &[u8], pass: &str) -> Result<Vec<u8>, DecryptError> {
        let mut r = decrypt(file, pass, 20)?;
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok(out)
    }

    fn sizes() -> Vec<Vec<u8>> {
        [0, 1, 100, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 7]
            .iter()
            .map(|n| (0..*n).map(|i| (i * 31 % 251) as u8).collect())
            .collect()
    }

    #[test]
    fn the_age_crate_reads_what_atk_writes() {
        for plain in sizes() {
            let file = encrypt_here(&plain, "correct horse");
            let decryptor = age::Decryptor::new(&file[..]).unwrap();
            let identity = age::scrypt::Identity::new(SecretString::from("correct horse".to_string()));
            let mut out = Vec::new();
            decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)).unwrap().read_to_end(&mut out).unwrap();
            assert_eq!(out, plain, "{} bytes", plain.len());
        }
    }

    #[test]
    fn atk_reads_what_the_age_crate_writes() {
        for plain in sizes() {
            let mut recipient = age::scrypt::Recipient::new(SecretString::from("pass phrase".to_string()));
            recipient.set_work_factor(10);
            let encryptor =
                age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient)).unwrap();
            let mut file = Vec::new();
            let mut w = encryptor.wrap_output(&mut file).unwrap();
            w.write_all(&plain).unwrap();
            w.finish().unwrap();
            assert_eq!(decrypt_here(&file, "pass phrase").unwrap(), plain, "{} bytes", plain.len());
        }
    }

    #[test]
    fn a_wrong_passphrase_a_changed_byte_and_a_cut_are_refused() {
        let plain: Vec<u8> = (0..(2 * CHUNK + 5)).map(|i| i as u8).collect();
        let file = encrypt_here(&plain, "right");
        assert!(matches!(decrypt_here(&file, "wrong"), Err(DecryptError::WrongPassphrase)));
        // A byte of the payload, of the header, the last chunk dropped, a chunk added.
        let mut changed = file.clone();
        let at = file.len() - 100;
        changed[at] ^= 1;
        assert!(decrypt_here(&changed, "right").is_err());
        let header_end = file.windows(4).position(|w| w == b"\n---").unwrap();
        let mut header = file.clone();
        header[header_end - 2] ^= 1;
        assert!(decrypt_here(&header, "right").is_err());
        let cut = &file[..file.len() - 5 - TAG];
        assert!(decrypt_here(cut, "right").is_err());
        let mut longer = file.clone();
        longer.extend_from_slice(&[0u8; 40]);
        assert!(decrypt_here(&longer, "right").is_err());
        // Too much work asked for: refused before it is done.
        let costly = String::from_utf8_lossy(&file).replacen(" 10\n", " 30\n", 1).into_bytes();
        assert!(matches!(decrypt(&costly[..], "right", 20), Err(DecryptError::Invalid(e)) if e.contains("30")));
    }
}
