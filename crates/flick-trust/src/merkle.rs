//! The Merkle tree of RFC 6962 / RFC 9162 §2.1 with SHA-256: hashes, roots,
//! inclusion and consistency proofs, and their verification.
//!
//! Pure: no IO. The slice functions (`root`, `inclusion_proof`,
//! `consistency_proof`) follow the RFC's recursive definitions directly and are
//! the reference; [`Tree`] gives the same answers in O(log n) per call by
//! keeping every complete subtree hash, which the log needs once it is large.

use sha2::{Digest, Sha256};

/// A SHA-256 hash: a leaf hash, a node hash or a root.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// `SHA-256(0x00 || leaf)`: the hash of a leaf's bytes.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(leaf);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Why a proof could not be made or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not below tree size {tree_size}")]
    IndexOutOfRange { index: u64, tree_size: u64 },
    #[error("tree size {size} is larger than the {available} leaves there are")]
    SizeOutOfRange { size: u64, available: u64 },
    #[error("the first tree size {first} is larger than the second {second}")]
    SizesReversed { first: u64, second: u64 },
    #[error("the proof has the wrong number of hashes")]
    WrongLength,
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
}

/// Largest power of two strictly below `n` (n >= 2): the RFC's `k`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Anything that can produce `MTH(D[start:end])`. The proof algorithms are
/// written once against this, for both the slice reference and [`Tree`].
trait Subtrees {
    fn mth(&self, start: u64, end: u64) -> Hash;
}

struct Leaves<'a>(&'a [Hash]);

impl Subtrees for Leaves<'_> {
    fn mth(&self, start: u64, end: u64) -> Hash {
        match end - start {
            0 => empty_root(),
            1 => self.0[start as usize],
            n => {
                let k = split_point(n);
                node_hash(&self.mth(start, start + k), &self.mth(start + k, end))
            }
        }
    }
}

/// RFC 9162 §2.1.3.1 `PATH(m, D[start:end])`, appended to `out` leaf-first.
fn path<S: Subtrees>(s: &S, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) {
    let n = end - start;
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    if m < k {
        path(s, m, start, start + k, out);
        out.push(s.mth(start + k, end));
    } else {
        path(s, m - k, start + k, end, out);
        out.push(s.mth(start, start + k));
    }
}

/// RFC 9162 §2.1.4.1 `SUBPROOF(m, D[start:end], b)`.
fn subproof<S: Subtrees>(s: &S, m: u64, start: u64, end: u64, b: bool, out: &mut Vec<Hash>) {
    let n = end - start;
    if m == n {
        if !b {
            out.push(s.mth(start, end));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        subproof(s, m, start, start + k, b, out);
        out.push(s.mth(start + k, end));
    } else {
        subproof(s, m - k, start + k, end, false, out);
        out.push(s.mth(start, start + k));
    }
}

fn check_size(size: u64, available: usize) -> Result<(), ProofError> {
    if size > available as u64 {
        return Err(ProofError::SizeOutOfRange {
            size,
            available: available as u64,
        });
    }
    Ok(())
}

fn make_inclusion<S: Subtrees>(s: &S, index: u64, tree_size: u64) -> Result<Vec<Hash>, ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    let mut out = Vec::new();
    path(s, index, 0, tree_size, &mut out);
    Ok(out)
}

fn make_consistency<S: Subtrees>(s: &S, first: u64, second: u64) -> Result<Vec<Hash>, ProofError> {
    if first > second {
        return Err(ProofError::SizesReversed { first, second });
    }
    let mut out = Vec::new();
    // Empty proofs for 0 and for equal sizes: every tree extends the empty
    // one, and a tree is consistent with itself when the roots are equal.
    if first > 0 && first < second {
        subproof(s, first, 0, second, true, &mut out);
    }
    Ok(out)
}

/// `MTH(D[n])` of the given leaf hashes (RFC 9162 §2.1.1).
pub fn root(leaf_hashes: &[Hash]) -> Hash {
    Leaves(leaf_hashes).mth(0, leaf_hashes.len() as u64)
}

/// The audit path of leaf `index` in the tree of the first `tree_size` leaves.
pub fn inclusion_proof(
    leaf_hashes: &[Hash],
    index: u64,
    tree_size: u64,
) -> Result<Vec<Hash>, ProofError> {
    check_size(tree_size, leaf_hashes.len())?;
    make_inclusion(&Leaves(leaf_hashes), index, tree_size)
}

/// The proof that the tree of the first `first` leaves is a prefix of the
/// tree of the first `second` leaves.
pub fn consistency_proof(
    leaf_hashes: &[Hash],
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, ProofError> {
    check_size(second, leaf_hashes.len())?;
    make_consistency(&Leaves(leaf_hashes), first, second)
}

/// Verifies an inclusion proof exactly as RFC 9162 §2.1.3.2 describes.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    let (mut f_n, mut s_n) = (index, tree_size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s_n == 0 {
            return Err(ProofError::WrongLength);
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies a consistency proof exactly as RFC 9162 §2.1.4.2 describes, plus
/// the edge cases the RFC leaves to the caller: from the empty tree (always
/// consistent, empty proof) and between equal sizes (empty proof, same root).
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if first > second {
        return Err(ProofError::SizesReversed { first, second });
    }
    if first == 0 || first == second {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        if first == second && first_root != second_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    // Step 2: when `first` is a power of two, its root is the first node of
    // the path and is not sent in the proof.
    let mut path: Vec<&Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(first_root);
    }
    path.extend(proof.iter());

    let (mut f_n, mut s_n) = (first - 1, second - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let mut f_r = *path[0];
    let mut s_r = *path[0];
    for c in &path[1..] {
        if s_n == 0 {
            return Err(ProofError::WrongLength);
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongLength);
    }
    if &f_r != first_root || &s_r != second_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// An append-only tree that keeps the hash of every complete, aligned
/// subtree (`levels[h][i]` covers leaves `i·2^h .. (i+1)·2^h`), so a root or
/// proof for any size costs O(log n) hashes instead of O(n). Memory is about
/// twice the leaf hashes: 64 bytes a leaf.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The leaf hashes, in order.
    pub fn leaf_hashes(&self) -> &[Hash] {
        self.levels.first().map_or(&[], |l| l.as_slice())
    }

    /// Appends a leaf hash and completes whichever subtrees it closes.
    pub fn push(&mut self, leaf_hash: Hash) {
        let mut h = leaf_hash;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(h);
            let len = self.levels[level].len();
            if len % 2 == 1 {
                break;
            }
            h = node_hash(&self.levels[level][len - 2], &self.levels[level][len - 1]);
            level += 1;
        }
    }

    /// `MTH` of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        check_size(size, self.leaf_hashes().len())?;
        Ok(self.mth(0, size))
    }

    /// `MTH` of all leaves.
    pub fn root(&self) -> Hash {
        self.mth(0, self.size())
    }

    pub fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<Hash>, ProofError> {
        check_size(tree_size, self.leaf_hashes().len())?;
        make_inclusion(self, index, tree_size)
    }

    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, ProofError> {
        check_size(second, self.leaf_hashes().len())?;
        make_consistency(self, first, second)
    }
}

impl Subtrees for Tree {
    fn mth(&self, start: u64, end: u64) -> Hash {
        let n = end - start;
        if n == 0 {
            return empty_root();
        }
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let h = n.trailing_zeros() as usize;
            return self.levels[h][(start >> h) as usize];
        }
        let k = split_point(n);
        node_hash(&self.mth(start, start + k), &self.mth(start + k, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    // The RFC 6962 reference inputs and results used by the Certificate
    // Transparency implementations' tests (leaf inputs, roots for sizes 0..=8,
    // and a few inclusion and consistency proofs).
    const INPUTS: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn vector_leaves() -> Vec<Hash> {
        INPUTS
            .iter()
            .map(|i| leaf_hash(&hex::decode(i).unwrap()))
            .collect()
    }

    #[test]
    fn rfc6962_roots() {
        let leaves = vector_leaves();
        let mut tree = Tree::new();
        assert_eq!(tree.root(), h(ROOTS[0]));
        for n in 0..=8 {
            assert_eq!(root(&leaves[..n]), h(ROOTS[n]), "size {n}");
            if n > 0 {
                tree.push(leaves[n - 1]);
                assert_eq!(tree.root(), h(ROOTS[n]), "tree size {n}");
            }
        }
    }

    #[test]
    fn rfc6962_inclusion_proofs() {
        let leaves = vector_leaves();
        // (index, tree size, proof)
        let cases: [(u64, u64, &[&str]); 4] = [
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (index, size, want) in cases {
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            assert_eq!(inclusion_proof(&leaves, index, size).unwrap(), want);
            let root = h(ROOTS[size as usize]);
            verify_inclusion(&leaves[index as usize], index, size, &want, &root).unwrap();
        }
    }

    #[test]
    fn rfc6962_consistency_proofs() {
        let leaves = vector_leaves();
        let cases: [(u64, u64, &[&str]); 4] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (m, n, want) in cases {
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            assert_eq!(consistency_proof(&leaves, m, n).unwrap(), want);
            verify_consistency(m, n, &h(ROOTS[m as usize]), &h(ROOTS[n as usize]), &want).unwrap();
        }
    }

    /// Brute-force reference: build the tree level by level the way the RFC
    /// draws it, promoting an unpaired last node unchanged. This is a
    /// different construction from the recursive one, which is the point.
    fn brute_root(leaves: &[Hash]) -> Hash {
        if leaves.is_empty() {
            return empty_root();
        }
        let mut level = leaves.to_vec();
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|c| {
                    if c.len() == 2 {
                        node_hash(&c[0], &c[1])
                    } else {
                        c[0]
                    }
                })
                .collect();
        }
        level[0]
    }

    fn sample_leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
            .collect()
    }

    const MAX: usize = 40;

    #[test]
    fn roots_match_brute_force_and_tree() {
        let leaves = sample_leaves(MAX);
        let mut tree = Tree::new();
        for n in 0..=MAX {
            if n > 0 {
                tree.push(leaves[n - 1]);
            }
            let want = brute_root(&leaves[..n]);
            assert_eq!(root(&leaves[..n]), want, "size {n}");
            assert_eq!(tree.root(), want, "tree size {n}");
            for m in 0..=n {
                assert_eq!(tree.root_at(m as u64).unwrap(), brute_root(&leaves[..m]));
            }
        }
    }

    #[test]
    fn every_inclusion_proof_verifies_and_rejects_tampering() {
        let leaves = sample_leaves(MAX);
        let mut tree = Tree::new();
        for &l in &leaves {
            tree.push(l);
        }
        for n in 1..=MAX as u64 {
            let r = brute_root(&leaves[..n as usize]);
            for i in 0..n {
                let proof = inclusion_proof(&leaves, i, n).unwrap();
                assert_eq!(tree.inclusion_proof(i, n).unwrap(), proof);
                let leaf = &leaves[i as usize];
                verify_inclusion(leaf, i, n, &proof, &r).unwrap();
                // Wrong leaf, wrong index, wrong size, wrong root, altered or
                // shortened or lengthened proof: all rejected.
                let other = &leaves[((i + 1) % n) as usize];
                if n > 1 {
                    assert!(verify_inclusion(other, i, n, &proof, &r).is_err());
                    assert!(verify_inclusion(leaf, (i + 1) % n, n, &proof, &r).is_err());
                }
                // (A wrong tree size can still pass when the path has the same
                // shape — roots do not commit to the size; the signed
                // checkpoint does. So that is not checked here.)
                assert!(verify_inclusion(leaf, i, n, &proof, &empty_root()).is_err());
                assert!(verify_inclusion(leaf, n, n, &proof, &r).is_err());
                for j in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[j][0] ^= 1;
                    assert!(verify_inclusion(leaf, i, n, &bad, &r).is_err());
                }
                if !proof.is_empty() {
                    assert!(verify_inclusion(leaf, i, n, &proof[1..], &r).is_err());
                }
                let mut longer = proof.clone();
                longer.push(r);
                assert!(verify_inclusion(leaf, i, n, &longer, &r).is_err());
            }
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_rejects_tampering() {
        let leaves = sample_leaves(MAX);
        let mut tree = Tree::new();
        for &l in &leaves {
            tree.push(l);
        }
        let roots: Vec<Hash> = (0..=MAX).map(|n| brute_root(&leaves[..n])).collect();
        for n in 0..=MAX as u64 {
            for m in 0..=n {
                let proof = consistency_proof(&leaves, m, n).unwrap();
                assert_eq!(tree.consistency_proof(m, n).unwrap(), proof);
                let (rm, rn) = (&roots[m as usize], &roots[n as usize]);
                verify_consistency(m, n, rm, rn, &proof)
                    .unwrap_or_else(|e| panic!("{m} -> {n}: {e}"));
                if m == 0 {
                    continue;
                }
                // A different old root (a rewritten history) must fail, as
                // must a different new root, other sizes, or an altered proof.
                let other_m = &roots[(m as usize + 1) % (MAX + 1)];
                assert!(verify_consistency(m, n, other_m, rn, &proof).is_err());
                if m < n {
                    assert!(verify_consistency(m, n, rm, &roots[m as usize], &proof).is_err());
                    for j in 0..proof.len() {
                        let mut bad = proof.clone();
                        bad[j][31] ^= 0x80;
                        assert!(verify_consistency(m, n, rm, rn, &bad).is_err());
                    }
                    assert!(verify_consistency(m, n, rm, rn, &proof[1..]).is_err());
                    let mut longer = proof.clone();
                    longer.push(*rn);
                    assert!(verify_consistency(m, n, rm, rn, &longer).is_err());
                }
                assert!(verify_consistency(n, m, rn, rm, &proof).is_err() || m == n);
            }
        }
    }

    #[test]
    fn out_of_range_requests_are_errors() {
        let leaves = sample_leaves(5);
        assert!(inclusion_proof(&leaves, 5, 5).is_err());
        assert!(inclusion_proof(&leaves, 0, 6).is_err());
        assert!(consistency_proof(&leaves, 3, 6).is_err());
        assert!(consistency_proof(&leaves, 4, 3).is_err());
        let mut tree = Tree::new();
        leaves.iter().for_each(|l| tree.push(*l));
        assert!(tree.root_at(6).is_err());
        assert!(tree.inclusion_proof(0, 6).is_err());
    }
}
