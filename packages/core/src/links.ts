/**
 * Links and exit signals of one node (OTP's `link/1`, `unlink/1`, `exit/2` and the exit-signal
 * rules of spec §a.2): a link is a pid in each side's link set; a process that dies sends each
 * linked process an exit signal, which kills it unless it traps exits (then it becomes an
 * `EXIT` message), `normal` excepted.
 */
import type { Pid } from './pid.js';
import type { ExitMessage, ExitReason } from './reason.js';
import type { Kernel } from './internal/kernel.js';
import type { ProcessRecord } from './internal/process.js';

/** The links and exit signals of one node. */
export class Links {
  constructor(private readonly kernel: Kernel) {}

  /** Links a local process to any pid (OTP's `link/1`). */
  link(p: ProcessRecord, pid: Pid): void {
    const k = this.kernel;
    if (p._dead || pid === p.pid) return;
    if (pid.node !== k.name) {
      if (p._links?.has(pid)) return;
      (p._links ??= new Set()).add(pid);
      k.router.link(p.pid, pid);
      return;
    }
    const q = k.local(pid);
    if (q === undefined) {
      // OTP: linking to a dead process sends the linker an exit signal `noproc`.
      this.exitSignal(pid, p.pid, 'noproc', false);
      return;
    }
    (p._links ??= new Set()).add(q.pid);
    (q._links ??= new Set()).add(p.pid);
  }

  /** Removes a link (OTP's `unlink/1`). */
  unlink(p: ProcessRecord, pid: Pid): void {
    if (p._links === null || !deletePid(p._links, pid)) return;
    if (pid.node !== this.kernel.name) {
      this.kernel.router.unlink(p.pid, pid);
      return;
    }
    this.kernel.local(pid)?._links?.delete(p.pid);
  }

  /**
   * Delivers an exit signal to `to` (spec §a.2). `linked`: sent because `from` died while
   * linked to `to`.
   */
  exitSignal(from: Pid, to: Pid, reason: ExitReason, linked: boolean): void {
    const k = this.kernel;
    if (to.node !== k.name) {
      k.router.exit(from, to, reason, linked);
      return;
    }
    const r = k.local(to);
    if (r === undefined) return;
    if (linked) {
      // A link-caused signal only counts while the link exists; the link is consumed.
      if (r._links === null || !deletePid(r._links, from)) return;
    } else if (reason === 'kill') {
      k.terminate(r, 'killed');
      return;
    }
    if (r._trap) {
      r._deliver({ tag: 'EXIT', from, reason } satisfies ExitMessage);
      return;
    }
    if (reason === 'normal') {
      if (from === r.pid) k.terminate(r, 'normal');
      return;
    }
    k.terminate(r, reason);
  }

  /** A remote process linked to a local one; false if the local one is dead. */
  acceptRemote(from: Pid, to: Pid): boolean {
    const p = this.kernel.local(to);
    if (p === undefined) return false;
    (p._links ??= new Set()).add(from);
    return true;
  }

  /** A remote process removed its link to a local one. */
  acceptRemoteUnlink(from: Pid, to: Pid): void {
    const links = this.kernel.local(to)?._links;
    if (links != null) deletePid(links, from);
  }

  /** `node` went down: every link to one of its processes fires `noconnection`. */
  nodeDown(node: string, processes: Iterable<ProcessRecord>): void {
    for (const p of [...processes]) {
      if (p._links === null) continue;
      for (const pid of [...p._links]) if (pid.node === node) this.exitSignal(pid, p.pid, 'noconnection', true);
    }
  }

  /** `p` exited with `reason`: every linked process gets the exit signal. */
  exited(p: ProcessRecord, reason: ExitReason): void {
    const links = p._links;
    p._links = null;
    if (links !== null) for (const other of links) this.exitSignal(p.pid, other, reason, true);
  }
}

/**
 * Removes `pid` from a link set: by identity (pids of live processes and of connected nodes are
 * canonical objects), else by value — a pid of a node's earlier incarnation may come back from
 * the wire as another object.
 */
function deletePid(set: Set<Pid>, pid: Pid): boolean {
  if (set.delete(pid)) return true;
  for (const x of set) {
    if (x.equals(pid)) {
      set.delete(x);
      return true;
    }
  }
  return false;
}
