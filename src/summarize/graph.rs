//! Sparse tf-idf sentence vectors, cosine similarity and TextRank.

/// A sentence vector: (term id, weight) sorted by term id, L2-normalised.
pub type Sparse = Vec<(u32, f32)>;

/// Dot product of two sorted sparse vectors (cosine when both are unit).
pub fn cosine(a: &[(u32, f32)], b: &[(u32, f32)]) -> f32 {
    crate::work::add(a.len() + b.len());
    let (mut i, mut j, mut dot) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    dot
}

/// Dot product of a sorted sparse vector with a dense one indexed by term
/// id (cosine when both are unit); ids past the dense vector count 0.
pub fn dot_dense(a: &[(u32, f32)], dense: &[f32]) -> f32 {
    crate::work::add(a.len());
    a.iter()
        .map(|&(id, w)| w * dense.get(id as usize).copied().unwrap_or(0.0))
        .fold(0.0, |dot, x| dot + x)
}

/// Scales `v` to unit length (left alone when empty or zero).
pub fn normalise(v: &mut [(u32, f32)]) {
    let norm = v.iter().map(|&(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|(_, w)| *w /= norm);
    }
}

/// Symmetric similarity matrix (row-major, zero diagonal) of unit vectors.
pub fn similarities(vectors: &[Sparse]) -> Vec<f32> {
    let n = vectors.len();
    let mut sim = vec![0.0; n * n];
    for i in 0..n {
        for j in i + 1..n {
            let s = cosine(&vectors[i], &vectors[j]);
            sim[i * n + j] = s;
            sim[j * n + i] = s;
        }
    }
    sim
}

/// TextRank (PageRank on the weighted similarity graph), scaled so the most
/// central sentence scores 1. Sentences with no edges keep the teleport mass.
pub fn textrank(sim: &[f32], n: usize, damping: f32, iterations: usize) -> Vec<f32> {
    if n == 0 {
        return Vec::new();
    }
    crate::work::add(n * n * (iterations + 2));
    let out_weight: Vec<f32> = (0..n)
        .map(|i| sim[i * n..(i + 1) * n].iter().sum())
        .collect();
    // Transition weights, row i = what flows into i: sim[j][i] / out(j).
    let mut flow = vec![0.0f32; n * n];
    for j in 0..n {
        if out_weight[j] > 0.0 {
            let inv = 1.0 / out_weight[j];
            for i in 0..n {
                flow[i * n + j] = sim[j * n + i] * inv;
            }
        }
    }
    let mut rank = vec![1.0 / n as f32; n];
    let mut next = vec![0.0; n];
    let teleport = (1.0 - damping) / n as f32;
    for _ in 0..iterations {
        for (slot, row) in next.iter_mut().zip(flow.chunks_exact(n)) {
            let acc: f32 = row.iter().zip(&rank).map(|(w, r)| w * r).sum();
            *slot = teleport + damping * acc;
        }
        let delta: f32 = rank.iter().zip(&next).map(|(a, b)| (a - b).abs()).sum();
        std::mem::swap(&mut rank, &mut next);
        if delta < 1e-5 {
            break;
        }
    }
    let max = rank.iter().copied().fold(0.0, f32::max);
    if max > 0.0 {
        rank.iter_mut().for_each(|r| *r /= max);
    }
    rank
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_unit_vectors() {
        let mut a = vec![(1, 1.0), (3, 1.0)];
        let mut b = vec![(3, 2.0), (7, 2.0)];
        normalise(&mut a);
        normalise(&mut b);
        assert!((cosine(&a, &b) - 0.5).abs() < 1e-6);
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&a, &[]), 0.0);
    }

    #[test]
    fn the_sentence_sharing_most_words_is_most_central() {
        let v: Vec<Sparse> = vec![
            vec![(0, 1.0)],
            vec![(0, 0.6), (1, 0.8)],
            vec![(1, 1.0)],
            vec![(9, 1.0)],
        ];
        let rank = textrank(&similarities(&v), 4, 0.85, 50);
        assert_eq!(rank[1], 1.0);
        assert!(rank[3] < rank[0]);
        assert!(textrank(&[], 0, 0.85, 10).is_empty());
    }
}
