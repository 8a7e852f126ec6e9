// The Mann-Whitney U (Wilcoxon rank-sum) test: do two samples of timings come from the same
// distribution? It compares ranks, not means, so a few slow outliers (a GC pause, a busy CI
// neighbour) cannot fake or hide a difference the way they would in a t-test.

export interface RankTestResult {
  /** Standard score of U under "same distribution" (normal approximation, tie-corrected). */
  z: number;
  /** Probability that the first sample's value exceeds the second's (0.5: no difference). */
  effect: number;
}

export function mannWhitney(first: number[], second: number[]): RankTestResult {
  const n1 = first.length;
  const n2 = second.length;
  const all = [...first.map((value) => ({ value, group: 1 })), ...second.map((value) => ({ value, group: 2 }))].sort(
    (a, b) => a.value - b.value,
  );
  const ranks = new Array<number>(all.length);
  let tieTerm = 0;
  for (let start = 0; start < all.length; ) {
    let end = start;
    while (end + 1 < all.length && all[end + 1]!.value === all[start]!.value) end++;
    const rank = (start + end) / 2 + 1;
    for (let index = start; index <= end; index++) ranks[index] = rank;
    const ties = end - start + 1;
    tieTerm += ties ** 3 - ties;
    start = end + 1;
  }
  const rankSum = all.reduce((sum, item, index) => (item.group === 1 ? sum + ranks[index]! : sum), 0);
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  return { z: (u - mean) / Math.sqrt(variance), effect: u / (n1 * n2) };
}
