/** "Did you mean ...?": the closest of a few known words to a mistyped one. */

/**
 * The candidate closest to `input` by edit distance (insertions, deletions, substitutions and
 * swaps of neighbours, ignoring case), or undefined when none is close enough to be a likely typo:
 * at most 2 edits, or a third of the input's length for longer words. A candidate that starts
 * with an input of 3 or more characters (`time` for `timeout`) also counts.
 *
 * @example closestMatch('jsn', ['json', 'port']) // 'json'
 */
export function closestMatch(input: string, candidates: readonly string[]): string | undefined {
  const [best] = closestMatches(input, candidates, 1);
  if (best !== undefined || input.length < 3) return best;
  const word = input.toLowerCase();
  const prefixed = candidates.filter((c) => c.toLowerCase().startsWith(word));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/**
 * Up to `max` candidates within `maxDistance` edits of `input` (ignoring case, and fewer edits
 * than `input` has characters), closest first; ties keep the candidates' order.
 *
 * @param maxDistance the most edits a likely typo has. @default 2, or a third of `input`'s length
 * @example closestMatches('prot', ['port', 'json', 'part'], 2) // ['port', 'part']
 */
export function closestMatches(
  input: string,
  candidates: readonly string[],
  max: number,
  maxDistance = Math.max(2, Math.floor(input.length / 3)),
): string[] {
  const word = input.toLowerCase();
  const limit = Math.min(maxDistance, word.length - 1);
  return candidates
    .map((candidate) => ({
      candidate,
      // Lengths that differ by more than the limit are more edits apart: skip the work.
      distance:
        Math.abs(candidate.length - word.length) > limit
          ? Number.POSITIVE_INFINITY
          : editDistance(word, candidate.toLowerCase(), limit),
    }))
    .filter(({ distance }) => distance <= limit)
    .sort((a, b) => a.distance - b.distance)
    .slice(0, max)
    .map(({ candidate }) => candidate);
}

/**
 * Optimal-string-alignment distance: Levenshtein plus the swap of two neighbours. With `max`,
 * stops as soon as the distance must exceed it and returns `max + 1` (a process.env of hundreds
 * of names is checked against every known name on each resolution).
 */
export function editDistance(a: string, b: string, max = Number.POSITIVE_INFINITY): number {
  // Three rows of the table: distances between the first i-2, i-1 and i characters of a and
  // the first j of b.
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let smallest = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(
        (previous[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, (before[j - 2] as number) + 1);
      }
      row.push(distance);
      smallest = Math.min(smallest, distance);
    }
    // Every later row is at least this row's smallest distance.
    if (smallest > max) return max + 1;
    before = previous;
    previous = row;
  }
  return Math.min(previous[b.length] as number, max + 1);
}
