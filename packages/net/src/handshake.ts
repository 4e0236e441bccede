/**
 * The cookie challenge/response of the handshake (OTP's `dist_util` challenge).
 *
 * Each side sends a random challenge; the other proves it knows the cookie by answering
 * HMAC-SHA256(cookie, challenge ‖ its own name). The cookie never crosses the wire, binding
 * the prover's name stops a reflected answer, and answers are compared in constant time.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of a challenge. */
export const CHALLENGE_BYTES = 32;

/** A fresh random challenge. */
export function makeChallenge(): Buffer {
  return randomBytes(CHALLENGE_BYTES);
}

/** The proof that `prover` knows `cookie`, for `challenge`. */
export function proof(cookie: string, challenge: Uint8Array, prover: string): Buffer {
  return createHmac('sha256', cookie).update(challenge).update(prover, 'utf8').digest();
}

/** Checks a proof in constant time. */
export function checkProof(cookie: string, challenge: Uint8Array, prover: string, got: unknown): boolean {
  if (!(got instanceof Uint8Array)) return false;
  const want = proof(cookie, challenge, prover);
  return got.length === want.length && timingSafeEqual(want, got);
}

/** True for a node name of the form `name@host`. */
export function isNodeName(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 255 && /^[A-Za-z0-9_.-]+@[A-Za-z0-9_.:-]+$/.test(s);
}
