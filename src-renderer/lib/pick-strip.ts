/**
 * The images offered to pick from: `count` of them, as many labels as possible (a test
 * split is often stored sorted by label, so its first page would be all zeros), taken
 * round-robin across labels and shown grouped by label in their stored order.
 */
export function spreadByLabel<T extends { label: number }>(images: readonly T[], count: number): T[] {
  const byLabel = new Map<number, number[]>();
  images.forEach((image, position) => {
    const list = byLabel.get(image.label);
    if (list) list.push(position);
    else byLabel.set(image.label, [position]);
  });
  const queues = [...byLabel.values()];
  const chosen: number[] = [];
  for (let round = 0; chosen.length < count && queues.some((q) => round < q.length); round++) {
    for (const queue of queues) {
      if (chosen.length >= count) break;
      const position = queue[round];
      if (position !== undefined) chosen.push(position);
    }
  }
  return chosen
    .sort((a, b) => images[a]!.label - images[b]!.label || a - b)
    .map((position) => images[position]!);
}
