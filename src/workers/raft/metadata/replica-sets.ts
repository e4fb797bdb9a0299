/** Replica lists compared as sets: an ISR is the same whatever order its brokers are listed in. */
export function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
