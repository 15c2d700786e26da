//! Slugs: the short, filesystem-safe names used in branch and folder names.

/// The longest slug made from free text. Branch names and paths stay well
/// under every filesystem's limits even with a suffix and an index added.
pub const MAX_SLUG_LEN: usize = 40;

/// Turns any text into a slug: ASCII lower-case letters, digits and single
/// hyphens, no leading or trailing hyphen, at most `max_len` bytes, cut at a
/// word boundary when one is near. Text with nothing usable gives `fallback`.
///
/// Accented Latin letters keep their base letter (`é` → `e`); everything else
/// that is not ASCII alphanumeric separates words. The result is safe as a git
/// ref component and as a file name on every common filesystem.
pub fn slugify_or(text: &str, max_len: usize, fallback: &str) -> String {
    let mut slug = String::with_capacity(max_len.min(text.len()));
    let mut pending_hyphen = false;
    for ch in text.chars() {
        let mapped = fold_to_ascii(ch);
        match mapped {
            Some(c) if c.is_ascii_alphanumeric() => {
                if pending_hyphen && !slug.is_empty() {
                    if slug.len() + 2 > max_len {
                        break;
                    }
                    slug.push('-');
                }
                pending_hyphen = false;
                if slug.len() + 1 > max_len {
                    break;
                }
                slug.push(c.to_ascii_lowercase());
            }
            _ => pending_hyphen = true,
        }
    }
    trim_to_word(&mut slug, text, max_len);
    if slug.is_empty() {
        fallback.to_string()
    } else {
        slug
    }
}

/// [`slugify_or`] with the default length and `fallback` "task".
pub fn slugify(text: &str) -> String {
    slugify_or(text, MAX_SLUG_LEN, "task")
}

/// When the text was cut mid-word, drop the partial word if a cleaner cut is
/// not too far back, so `implement-a-rate-lim` becomes `implement-a-rate`.
fn trim_to_word(slug: &mut String, text: &str, max_len: usize) {
    let was_cut = slug.len() >= max_len.saturating_sub(1) && text.len() > slug.len();
    if was_cut {
        if let Some(pos) = slug.rfind('-') {
            if pos >= max_len / 2 {
                slug.truncate(pos);
            }
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
}

fn fold_to_ascii(ch: char) -> Option<char> {
    if ch.is_ascii() {
        return Some(ch);
    }
    let folded = match ch {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        'ß' => 's',
        _ => return None,
    };
    Some(folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_valid(slug: &str) {
        assert!(!slug.is_empty(), "a slug is never empty");
        assert!(
            slug.len() <= MAX_SLUG_LEN,
            "{slug:?} is longer than the bound"
        );
        assert!(
            slug.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{slug:?} has a character that is not safe in a ref or a file name"
        );
        assert!(!slug.starts_with('-') && !slug.ends_with('-'), "{slug:?}");
        assert!(!slug.contains("--"), "{slug:?}");
        assert!(git2::Reference::is_valid_name(&format!(
            "refs/heads/fanout/{slug}"
        )));
    }

    #[test]
    fn plain_text_reads_naturally() {
        assert_eq!(
            slugify("Implement a rate limiter"),
            "implement-a-rate-limiter"
        );
        assert_eq!(slugify("Crème brûlée v2"), "creme-brulee-v2");
    }

    #[test]
    fn hostile_text_still_gives_a_valid_slug() {
        let long = "word ".repeat(2_000);
        let cases = [
            "\"quoted\" 'text' and `ticks`",
            "../../etc/passwd",
            "a/b\\c:d*e?f<g>h|i",
            "🚀 emoji only 🎉",
            "🚀🎉",
            "<script>alert(1)</script>",
            "",
            "----",
            ".lock",
            long.as_str(),
        ];
        for case in cases {
            assert_valid(&slugify(case));
        }
        assert_eq!(slugify("🚀🎉"), "task", "nothing usable falls back");
    }

    #[test]
    fn long_text_is_cut_at_a_word() {
        let slug = slugify("Refactor the configuration loader to support layered overrides");
        assert_eq!(slug, "refactor-the-configuration-loader-to");
    }
}
