//! "Did you mean …?": the closest of the names that exist to one that
//! does not, so a typo in a project, environment, target or secret name is
//! caught with the fix in the same message instead of creating junk or a
//! bare "not found".

/// The candidate closest to `typed` by edit distance (ignoring case), if
/// it is close enough to be a plausible typo: at most one edit for short
/// names, a third of the length for longer ones. Ties go to the first.
pub fn closest<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let typed = typed.to_lowercase();
    let limit = (typed.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (distance(&typed, &c.to_lowercase()), c))
        .filter(|(d, _)| *d > 0 && *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance with adjacent transpositions counted as one edit
/// (optimal string alignment), over characters.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_name() {
        let envs = ["development", "staging", "production"];
        assert_eq!(closest("prodution", envs), Some("production"));
        assert_eq!(closest("stagign", envs), Some("staging"));
        assert_eq!(closest("Staging2", envs), Some("staging"));
        assert_eq!(closest("wbe", ["web", "api"]), Some("web"));
    }

    #[test]
    fn unrelated_or_exact_names_suggest_nothing() {
        let envs = ["development", "staging", "production"];
        assert_eq!(closest("qa", envs), None);
        assert_eq!(closest("staging", envs), None);
        assert_eq!(closest("x", []), None);
        assert_eq!(closest("ab", ["xy"]), None);
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("ab", "ba"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("é", "e"), 1);
    }
}
