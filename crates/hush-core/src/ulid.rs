//! Organization ids in ULID's form (26 characters of Crockford base32),
//! as DotEnv's URLs show them (`/api/v1/01ARZ3NDEKTSV4RRFFQ69G5FAV/…`).
//!
//! hush's ids are random 128-bit UUIDs; the ULID form is the same 128 bits
//! written in Crockford base32, so every organization has one without a
//! stored column, and it converts back exactly. (A ULID's first 48 bits
//! are a timestamp; here they are as random as the rest, which no reader
//! of the id relies on.)

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The ULID form of a UUID (`8-4-4-4-12` hex); `None` if it is not one.
pub fn from_uuid(uuid: &str) -> Option<String> {
    let hex: String = uuid.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || uuid.len() != 36 {
        return None;
    }
    let n = u128::from_str_radix(&hex, 16).ok()?;
    Some(
        (0..26)
            .rev()
            .map(|i| char::from(ALPHABET[((n >> (5 * i)) & 31) as usize]))
            .collect(),
    )
}

/// The UUID a ULID-form id stands for; `None` if it is not 26 Crockford
/// base32 characters (case-insensitive; `I`/`L` read as 1, `O` as 0).
pub fn to_uuid(ulid: &str) -> Option<String> {
    if ulid.len() != 26 {
        return None;
    }
    let mut n: u128 = 0;
    for (i, c) in ulid.bytes().enumerate() {
        let digit = match c.to_ascii_uppercase() {
            b'I' | b'L' => 1,
            b'O' => 0,
            c => ALPHABET.iter().position(|a| *a == c)? as u128,
        };
        // The first character carries 3 bits (26 × 5 = 130 > 128).
        if i == 0 && digit > 7 {
            return None;
        }
        n = (n << 5) | digit;
    }
    let hex = format!("{n:032x}");
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_and_round_trip() {
        // Computed independently (Python, int → Crockford base32).
        let uuid = "01890a5d-ac96-774b-bcce-b302099a8057";
        assert_eq!(
            from_uuid(uuid).as_deref(),
            Some("01H455VB4PEX5VSKNK084SN02Q")
        );
        assert_eq!(to_uuid("01H455VB4PEX5VSKNK084SN02Q").as_deref(), Some(uuid));
        assert_eq!(to_uuid("01h455vb4pex5vsknk084sn02q").as_deref(), Some(uuid));
        // The seed's example parses.
        let seed = to_uuid("01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap();
        assert_eq!(
            from_uuid(&seed).as_deref(),
            Some("01ARZ3NDEKTSV4RRFFQ69G5FAV")
        );
    }

    #[test]
    fn refuses_what_is_not_an_id() {
        for bad in [
            "",
            "acme",
            "81ARZ3NDEKTSV4RRFFQ69G5FAV",
            "01ARZ3NDEKTSV4RRFFQ69G5FAU!",
        ] {
            assert_eq!(to_uuid(bad), None, "{bad}");
        }
        assert_eq!(to_uuid("01ARZ3NDEKTSV4RRFFQ69G5FA-"), None);
        assert_eq!(from_uuid("not-a-uuid"), None);
        assert_eq!(from_uuid("01890a5dac96774bbcceb302099a8057"), None);
    }
}
