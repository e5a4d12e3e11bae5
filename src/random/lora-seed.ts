/**
 * The seed of one LoRA's inversion in a run that inverts many: a 31-bit non-negative integer
 * (0 … 2³¹ − 1) hashed from the run's seed and the LoRA's id, so that each LoRA starts from its
 * own noise and draws its own jitter, and the same run (same seed, same id) gets the same seed
 * on every host, thread and call. Every inversion of that LoRA in the run takes it: the
 * un-optimised noise (steps 0) is then exactly the starting point of its real inversion.
 *
 * The hash is 32-bit FNV-1a over the UTF-8 bytes of `${runSeed}:${loraId}` (unambiguous: a
 * number's decimal form holds no ':'), then MurmurHash3's finaliser, so that ids differing in
 * one character differ in about half the bits, and the top bit dropped.
 */
export function loraSeed(runSeed: number, loraId: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(`${runSeed}:${loraId}`)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash & 0x7fffffff;
}
