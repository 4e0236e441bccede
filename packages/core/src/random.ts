/**
 * Randomness, injectable. Every random choice rigil makes — a node's creation, the handshake's
 * challenges, `global`'s lock back-off, dist-ac's placement back-off — is drawn from its node's
 * `Random` (`node.random`), so a simulation can give each node a generator derived from one seed
 * and replay a run bit for bit (@rigil/testing does). Outside a simulation the default draws from
 * the operating system's CSPRNG (`node:crypto`), which the handshake's challenges need.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { coreError } from './errors.js';

/** A source of random numbers (OTP's `rand` / `crypto:strong_rand_bytes/1`, behind one seam). */
export interface Random {
  /** A uniformly random integer in `[lo, hi)` (as `crypto.randomInt(lo, hi)`). */
  int(lo: number, hi: number): number;
  /** `n` random bytes. */
  bytes(n: number): Uint8Array;
  /** A uniformly random number in `[0, 1)` (as `Math.random()`). */
  float(): number;
}

/** The default `Random`: the operating system's CSPRNG (`node:crypto`); not reproducible. */
export const cryptoRandom: Random = {
  int: (lo, hi) => randomInt(lo, hi),
  bytes: (n) => randomBytes(n),
  // randomInt's range is at most 2^48 - 1 wide.
  float: () => randomInt(0, 2 ** 48 - 1) / 2 ** 48,
};

/**
 * A fast seeded generator (sfc32, seeded through splitmix32): the same seed gives the same
 * sequence on every platform. Not cryptographically secure: for simulations and tests only.
 *
 * @example
 * const r = new SeededRandom(42);
 * r.int(1, 7); // a die roll, the same one every run
 */
export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Creates a generator from an integer seed (any number: it is mixed down to 32 bits). */
  constructor(seed: number) {
    let s = (Math.trunc(seed) ^ Math.trunc(seed / 2 ** 32)) >>> 0;
    const next = (): number => {
      // splitmix32: spreads one seed over the four words of state.
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** The next 32 random bits, as an unsigned integer. */
  u32(): number {
    // sfc32 (Chris Doty-Humphrey's Small Fast Counting generator).
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  float(): number {
    // 53 random bits, as Math.random has.
    return ((this.u32() >>> 5) * 67108864 + (this.u32() >>> 6)) / 9007199254740992;
  }

  int(lo: number, hi: number): number {
    if (!(Number.isSafeInteger(lo) && Number.isSafeInteger(hi) && hi > lo)) throw coreError('ERR_BADARG', `bad random range [${lo}, ${hi})`);
    return lo + Math.floor(this.float() * (hi - lo));
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      let w = this.u32();
      for (let j = i; j < Math.min(n, i + 4); j++, w >>>= 8) out[j] = w & 0xff;
    }
    return out;
  }

  /** A new generator seeded from this one: independent streams for parts of one run (e.g. one per node). */
  fork(): SeededRandom {
    return new SeededRandom(this.u32() * 2 ** 21 + (this.u32() >>> 11));
  }
}
