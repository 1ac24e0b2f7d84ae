/**
 * Runs `fn` over `items` with at most `limit` calls in flight, keeping results in item order.
 * File-system work per partition (open, scan, close) goes through Node's thread pool (4 threads
 * by default); issuing it one partition at a time leaves that pool idle.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  await Promise.all(workers);
  return results;
}
