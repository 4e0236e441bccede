/**
 * A hostile client for the attack tests (test-only): it speaks the distribution's wire protocol
 * directly over `ws`, without the cookie, and tries what the attacks of issue 11 did —
 * reflecting the acceptor's proof back at it, relaying one node's proof to another, squatting a
 * name before authentication, oversized and idle pre-handshake connections. It also measures a
 * legitimate peer's call rate before and during an attack.
 *
 * It is written against the wire format loosely on purpose: a hello carries its nonce both as
 * `nonce` (protocol 2) and as `challenge` (protocol 1), and a proof is looked for in `digest`
 * (1) or `mac` (2). So the same attack runs against either handshake: against protocol 1 it
 * succeeds (the tests failed before the fix), against protocol 2 it gets nothing it can use.
 */
import { randomBytes } from 'node:crypto';
import { Pid, Ref } from '@rigil/core';
import type { DistNode } from '../src/index.js';
import { decodePlain, encodePlain } from '../src/codec.js';
import { Op, PROTOCOL_VERSION } from '../src/protocol.js';
import { RawPeer, uniqueName, type Cluster } from './helpers.js';

/** One hostile connection to a node's listening port. */
export class Attacker {
  /** Handshake messages received, decoded (the data frames after an ack are kept raw in `peer.frames`). */
  readonly received: Array<Record<string, unknown>> = [];

  private constructor(
    readonly peer: RawPeer,
    /** The node name this connection claims. */
    readonly name: string,
    /** The creation it claims. */
    readonly creation: number,
  ) {}

  /** Opens a raw WebSocket to `port` that will claim to be `name` (default: a fresh name). */
  static async open(cluster: Cluster, port: number, name = uniqueName('evil'), creation = 4242): Promise<Attacker> {
    return new Attacker(await RawPeer.open(cluster, port), name, creation);
  }

  /** Sends a hello (no proof in it), with `nonce` (default 32 random bytes) in both nonce fields. */
  hello(nonce: Uint8Array = randomBytes(32), flags = 0): Uint8Array {
    this.peer.send(encodePlain({ t: 'hello', v: PROTOCOL_VERSION, flags, name: this.name, creation: this.creation, url: null, nonce, challenge: nonce }));
    return nonce;
  }

  /** The next handshake message from the node, or undefined if the node closed the socket first. */
  async reply(timeoutMs = 3000): Promise<Record<string, unknown> | undefined> {
    await this.peer.until(() => this.peer.frames.length > 0 || this.peer.closed !== undefined, timeoutMs, 'a reply from the node');
    const f = this.peer.frames.shift();
    if (f === undefined) return undefined;
    const m = decodePlain(f.data);
    this.received.push(m);
    return m;
  }

  /** Sends an answer carrying `proof` in both proof fields. */
  answer(proof: Uint8Array): void {
    this.peer.send(encodePlain({ t: 'answer', digest: proof, mac: proof }));
  }

  /** Sends data messages as an authenticated peer would (plain msgpack frames decode too). */
  sendData(msgs: unknown[][]): void {
    this.peer.send(encodePlain(msgs));
  }

  /** Asks the node's rex for `ping` as a gen call from this connection's pretend process. */
  rpcPing(): void {
    const pid = new Pid(this.name, 1, this.creation);
    const tag = new Ref(this.name, 99, this.creation);
    this.sendData([[Op.REG_SEND, 'rex', { $gen: 'call', pid, tag, req: { proc: 'ping', args: [] } }]]);
  }

  /** Sends `msg` to the process registered as `name` on the node. */
  sendNamed(name: string, msg: unknown): void {
    this.sendData([[Op.REG_SEND, name, msg]]);
  }

  /** True once the node sent an ack (it took this connection for an authenticated peer). */
  get acked(): boolean {
    return this.received.some((m) => m.t === 'ack');
  }

  /** True once the node closed the socket. */
  get closed(): boolean {
    return this.peer.closed !== undefined;
  }

  /** Data frames received after the handshake (anything at all means the node talked to us as a peer). */
  get dataFrames(): number {
    return this.peer.frames.length;
  }
}

/** A proof field of a handshake message (`digest` in protocol 1, `mac` in 2), if there is one. */
export function proofIn(m: Record<string, unknown> | undefined): Uint8Array | undefined {
  const p = m?.digest ?? m?.mac;
  return p instanceof Uint8Array ? p : undefined;
}

/** The acceptor's nonce in a challenge (`challenge` in protocol 1, `nonce` in 2). */
export function nonceIn(m: Record<string, unknown> | undefined): Uint8Array | undefined {
  const n = m?.nonce ?? m?.challenge;
  return n instanceof Uint8Array ? n : undefined;
}

/**
 * Calls `ping` on `target` from `caller` back to back for `ms` milliseconds; returns calls per
 * second (a legitimate peer's service level, measured before and during an attack).
 */
export async function callRate(caller: DistNode, target: string, ms: number): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    await caller.rpc.call(target, 'ping', [], 2000);
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

/**
 * Runs `attack` while measuring `caller`'s call rate to `target`; prints both rates and returns
 * them (`before` measured first, on its own).
 */
export async function rateDuring(caller: DistNode, target: string, label: string, attack: () => Promise<void>, ms = 300): Promise<{ before: number; during: number }> {
  const before = await callRate(caller, target, ms);
  const [during] = await Promise.all([callRate(caller, target, ms), attack()]);
  console.log(`[${label}] legitimate calls/s: before ${before.toFixed(0)}, during the attack ${during.toFixed(0)}`);
  return { before, during };
}
