//! Shamir secret sharing over GF(2^8) exactly as sops' `shamir` package (from Vault) does it:
//! AES polynomial 0x11B, one random polynomial per secret byte, share *i* evaluated at
//! x = i + 1 and stored as `y-bytes || x`. Shares from sops and from us are interchangeable.

use rand::{CryptoRng, RngCore};
use zeroize::Zeroizing;

fn mul(a: u8, b: u8) -> u8 {
    // Constant-time shift-and-add with reduction by x^8 + x^4 + x^3 + x + 1.
    let mut acc: u8 = 0;
    for i in (0..8).rev() {
        let bit = (b >> i) & 1;
        let a_or_zero = 0u8.wrapping_sub(bit) & a;
        let reduce = 0u8.wrapping_sub(acc >> 7) & 0x1B;
        acc = a_or_zero ^ (reduce ^ acc.wrapping_add(acc));
    }
    acc
}

fn inverse(a: u8) -> u8 {
    // a^254 = a^-1 in GF(2^8).
    let mut b = mul(a, a);
    let mut c = mul(a, b);
    b = mul(c, c);
    b = mul(b, b);
    c = mul(b, c);
    b = mul(b, b);
    b = mul(b, b);
    b = mul(b, c);
    b = mul(b, b);
    b = mul(a, b);
    mul(b, b)
}

/// Split `secret` into `parts` shares, any `threshold` of which recombine it.
pub fn split(
    secret: &[u8],
    parts: usize,
    threshold: usize,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Vec<Zeroizing<Vec<u8>>>, String> {
    if parts < threshold {
        return Err("parts cannot be less than threshold".into());
    }
    if parts > 255 {
        return Err("parts cannot exceed 255".into());
    }
    if threshold < 2 {
        return Err("threshold must be at least 2".into());
    }
    if secret.is_empty() {
        return Err("cannot split an empty secret".into());
    }
    let mut out: Vec<Zeroizing<Vec<u8>>> = (0..parts)
        .map(|i| {
            let mut v = vec![0u8; secret.len() + 1];
            v[secret.len()] = (i + 1) as u8;
            Zeroizing::new(v)
        })
        .collect();
    let mut coeffs = Zeroizing::new(vec![0u8; threshold]);
    for (idx, &byte) in secret.iter().enumerate() {
        coeffs[0] = byte;
        rng.fill_bytes(&mut coeffs[1..]);
        for (i, share) in out.iter_mut().enumerate() {
            let x = (i + 1) as u8;
            let mut y = coeffs[threshold - 1];
            for c in coeffs[..threshold - 1].iter().rev() {
                y = mul(y, x) ^ c;
            }
            share[idx] = y;
        }
    }
    Ok(out)
}

/// Recombine shares (Lagrange interpolation at x = 0).
pub fn combine(parts: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>, String> {
    if parts.len() < 2 {
        return Err("less than two parts cannot be used to reconstruct the secret".into());
    }
    let len = parts[0].len();
    if len < 2 {
        return Err("parts must be at least two bytes".into());
    }
    if parts.iter().any(|p| p.len() != len) {
        return Err("all parts must be the same length".into());
    }
    let xs: Vec<u8> = parts.iter().map(|p| p[len - 1]).collect();
    for (i, x) in xs.iter().enumerate() {
        if xs[..i].contains(x) {
            return Err("duplicate part detected".into());
        }
    }
    let mut secret = Zeroizing::new(vec![0u8; len - 1]);
    for (idx, out) in secret.iter_mut().enumerate() {
        let mut result = 0u8;
        for (i, part) in parts.iter().enumerate() {
            let mut basis = 1u8;
            for (j, xj) in xs.iter().enumerate() {
                if i != j {
                    basis = mul(basis, mul(*xj, inverse(xs[i] ^ xj)));
                }
            }
            result ^= mul(part[idx], basis);
        }
        *out = result;
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_combine_any_threshold_subset() {
        let mut rng = rand::thread_rng();
        let secret: Vec<u8> = (0u8..32).collect();
        let shares = split(&secret, 3, 2, &mut rng).unwrap();
        assert_eq!(shares[0].len(), 33);
        assert_eq!(shares[2][32], 3);
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            let got = combine(&[&shares[a], &shares[b]]).unwrap();
            assert_eq!(&got[..], &secret[..]);
        }
        let all = combine(&[&shares[0], &shares[1], &shares[2]]).unwrap();
        assert_eq!(&all[..], &secret[..]);
        assert!(combine(&[&shares[0]]).is_err());
    }

    #[test]
    fn field_arithmetic() {
        for a in 1..=255u8 {
            assert_eq!(mul(a, inverse(a)), 1);
        }
        assert_eq!(mul(0x57, 0x83), 0xC1);
    }
}
