//! A generated data tree of plain-text lab diaries, for crash and load tests. Deterministic:
//! the same `n` gives the same bytes, and every line is unique to its file, so nothing is
//! taken for boilerplate.

use std::path::Path;

const WORDS: &[&str] = &[
    "workshop",
    "kundresan",
    "prototyp",
    "invånare",
    "kommunen",
    "labbet",
    "testade",
    "intervjuer",
    "tjänstedesign",
    "samverkan",
    "idéer",
    "lösningar",
    "utmaningar",
    "bostad",
    "skolan",
    "äldreomsorg",
    "digitala",
    "tjänster",
    "medborgare",
    "förvaltning",
    "piloten",
    "användare",
    "behov",
    "insikter",
    "metoder",
    "verkstad",
    "framtid",
    "experiment",
];

const PLACES: &[&str] = &[
    "Malmö",
    "Göteborg",
    "Umeå",
    "Boden",
    "Norrköping",
    "Södertälje",
];

/// Files per directory: a tree looks like many sites' exports, not one huge directory.
pub const FILES_PER_DIR: usize = 100;

/// Writes `n` diary files under `root` (in subdirectories of [`FILES_PER_DIR`]); returns the
/// total size in bytes.
pub fn generate(root: &Path, n: usize) -> u64 {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut total = 0;
    for i in 0..n {
        let dir = root.join(format!("site{:03}", i / FILES_PER_DIR));
        std::fs::create_dir_all(&dir).expect("create tree dir");
        let place = PLACES[i % PLACES.len()];
        let mut text = format!("Dagbok {i}: labbet i {place}\n\n");
        for p in 0..4 {
            let mut paragraph = format!("Del {p} av anteckning {i}.");
            for _ in 0..40 {
                paragraph.push(' ');
                paragraph.push_str(WORDS[(next() % WORDS.len() as u64) as usize]);
            }
            paragraph.push_str(&format!(" Året var {}.\n\n", 2015 + (next() % 10)));
            text.push_str(&paragraph);
        }
        let path = dir.join(format!("note{i:05}.txt"));
        std::fs::write(&path, &text).expect("write tree file");
        total += text.len() as u64;
    }
    total
}
