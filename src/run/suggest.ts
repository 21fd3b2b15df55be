/**
 * "Did you mean …?" for unknown keys, flags and commands. A suggestion is only
 * offered when it is close (edit distance ≤ 2, or equal once case, `-` and `_`
 * are ignored), because a far-fetched guess misleads more than no guess.
 */

/** Levenshtein edit distance between two strings (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}

const normalise = (s: string) => s.toLowerCase().replace(/[-_]/g, '');

/**
 * The candidate closest to `input`, if one is within distance 2 (or matches
 * `batch_size` → `batchSize` style spellings); ties go to the earlier candidate.
 * Short inputs get a tighter bound (half their length, dashes aside), or `--n`
 * would be "corrected" to `--lr`.
 */
export function suggest(input: string, candidates: Iterable<string>, maxDistance = 2): string | undefined {
  const bound = Math.min(maxDistance, Math.floor(input.replace(/^-+/, '').length / 2));
  let best: string | undefined;
  let bestDistance = Infinity;
  const wanted = normalise(input);
  for (const candidate of candidates) {
    const distance = normalise(candidate) === wanted ? 0 : editDistance(input, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= bound ? best : undefined;
}
