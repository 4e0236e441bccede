/**
 * The explorer's `global` workload: beyond the `net` workload's register/unregister (which it
 * tracks: who was last given each name), it re-registers names and takes `global` locks from random nodes on a small pool of resources —
 * with `setLock`/`delLock` from a holder process (which sometimes dies while it waits or holds),
 * and with `trans` — and it knows what I3-names compares.
 */
import type { Pid } from '@rigil/core';
import type { DistNode } from '@rigil/net';
import type { Simulation } from './simulation.js';

/** Lock resources the operations use (`l0`…). */
export const LOCK_POOL = 3;
/** Retries of a lock operation (OTP's `Retries`): a holder gives up after this many. */
const LOCK_RETRIES = 8;

/** What the global workload does and observes. */
export class GlobalOps {
  private requesters = 0;
  /**
   * The holder each name was last given by a registration that returned `'yes'` (in order of
   * completion), until an unregister of it returned. I3-names checks such a holder, while it is
   * alive and no unregister or re-register of the name is pending, still holds a name (a merge that drops a name without killing its holder loses it).
   */
  private readonly owners = new Map<string, { pid: Pid; at: number }>();
  /**
   * Unregisters and re-registers of each name that started and have not returned, with their
   * caller's node and creation. While one is pending, the name may be gone or another pid's
   * (it may run after any registration it overlaps — a re-register's pid may then die and
   * take the name with it); one whose caller crashed never returns, and whether it took effect
   * is unknown — its name is not owed until a registration completes after that node went
   * down (global seeds 703 and 1871: `rereg a g4` pending on a stalled a, then a crashed).
   */
  private readonly displacing = new Map<string, Set<{ node: string; creation: number }>>();

  constructor(private readonly sim: Simulation) {}

  /** `register(name)` of a fresh process on `node` (OTP's `global:register_name/2`); the `net` workload's `reg`. */
  register(node: DistNode, name: string, record: (e: unknown) => void): void {
    const pid = idle(node);
    node.global.register(name, pid).then((r) => {
      if (r === 'yes') this.own(name, pid);
    }, record);
  }

  /** `unregister(name)` from `node` (OTP's `global:unregister_name/1`); the `net` workload's `unreg`. */
  unregister(node: DistNode, name: string, record: (e: unknown) => void): void {
    const pending = this.displace(node, name);
    node.global.unregister(name).then(() => {
      pending();
      this.owners.delete(name);
    }, record);
  }

  /** `reRegister(name)` of a fresh process on `node` (OTP's `global:re_register_name/2`). */
  reRegister(node: DistNode, name: string, record: (e: unknown) => void): void {
    const pid = idle(node);
    const pending = this.displace(node, name);
    node.global.reRegister(name, pid).then(() => {
      pending();
      this.own(name, pid);
    }, record);
  }

  /** Records an unregister or re-register of `name` from `node` that started; returns what ends it. */
  private displace(node: DistNode, name: string): () => void {
    const call = { node: node.name, creation: node.creation };
    const pending = this.displacing.get(name) ?? new Set();
    this.displacing.set(name, pending.add(call));
    return () => pending.delete(call);
  }

  /** A registration of `name` to `pid` returned: its holder now owns it (unregisters of crashed callers are forgotten). */
  private own(name: string, pid: Pid): void {
    const pending = this.displacing.get(name);
    for (const call of pending ?? []) {
      if (!this.sim.isUp(call.node) || this.sim.node(call.node).creation !== call.creation) pending!.delete(call);
    }
    this.owners.set(name, { pid, at: this.sim.now });
  }

  /**
   * A holder process on `node` sets the lock `[lN, requester]` on every node it knows
   * (`setLock` with itself as holder), holds it `ms`, and releases it with `delLock`. With
   * `die`, the holder is killed `ms` after the operation instead, whether it holds the lock or
   * still waits for it: its lock must go with it (OTP's `lock_die`).
   */
  lock(node: DistNode, resource: string, ms: number, die: boolean, record: (e: unknown) => void): void {
    const id = [resource, `r${++this.requesters}`] as const;
    const holder = node.spawn(async (self) => {
      let got: boolean;
      try {
        got = await node.global.setLock(id, undefined, LOCK_RETRIES, self);
      } catch (e) {
        record(e);
        return;
      }
      if (!got) return;
      await node.delay(ms);
      if (die) return; // killed meanwhile (the kill comes first at the same instant)
      await node.global.delLock(id, undefined, self).catch(record);
    });
    if (die) {
      // The kill is scheduled on the node's timers: a crash of the node cancels it with the rest.
      node.timers.schedule(ms, () => node.exit(holder, 'kill'), undefined);
    }
  }

  /** `trans` on `[lN, requester]` from `node` (the node's name server holds it) around `ms` of work (OTP's `global:trans/4`). */
  trans(node: DistNode, resource: string, ms: number, record: (e: unknown) => void): void {
    const id = [resource, `r${++this.requesters}`] as const;
    node.global.trans(id, () => node.delay(ms), undefined, LOCK_RETRIES).catch(record);
  }

  /**
   * I3-names: every up node has the same global name table, and every name's pid is alive.
   * Returns the first difference, or undefined.
   */
  namesDisagree(): string | undefined {
    const up = this.sim.nodes();
    const table = (n: string): string => {
      const g = this.sim.node(n).global;
      return g.registeredNames().sort().map((name) => `${name}=${String(g.whereis(name))}`).join(' ');
    };
    const first = up[0];
    if (first === undefined) return undefined;
    const want = table(first);
    for (const n of up.slice(1)) {
      const got = table(n);
      if (got !== want) return `${n} has names [${got}], ${first} has [${want}]`;
    }
    const g = this.sim.node(first).global;
    for (const name of g.registeredNames()) {
      const pid = g.whereis(name)!;
      if (!this.alive(pid)) return `global name ${name} is held by ${String(pid)}, which is not alive`;
    }
    for (const [name, o] of this.owners) {
      if ((this.displacing.get(name)?.size ?? 0) > 0) continue; // an unregister or re-register may have taken it
      if (g.whereis(name) === undefined && this.alive(o.pid)) return `global name ${name} is registered nowhere, but ${String(o.pid)} — registered at ${Math.round(o.at)} ms and never unregistered — is alive`;
    }
    return undefined;
  }

  private alive(pid: Pid): boolean {
    if (!this.sim.isUp(pid.node)) return false;
    const owner = this.sim.node(pid.node);
    return owner.creation === pid.creation && owner.isAlive(pid);
  }
}

/** A process that waits forever (a name's holder). */
export function idle(node: DistNode): Pid {
  return node.spawn(async (self) => {
    for (;;) await self.receive();
  });
}
