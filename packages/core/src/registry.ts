/**
 * The local registry of a node: registered names (OTP's `register/2`, `whereis/1`) and the
 * aliases that call replies are addressed to (OTP 24's process aliases).
 */
import { coreError } from './errors.js';
import type { Pid, Ref } from './pid.js';
import type { AliasHandler } from './process.js';
import type { Kernel } from './internal/kernel.js';
import type { ProcessRecord } from './internal/process.js';

/** Registered names and aliases of one node. */
export class Registry {
  /** Registered name → its process. */
  private readonly names = new Map<string, ProcessRecord>();
  /** Live aliases by ref id (all but the one in the hot slot below). */
  private readonly aliases = new Map<number, AliasHandler>();
  /**
   * One live alias kept outside the Map: a process mostly has one call in flight, so the
   * add/deliver/remove of a call's alias touches no hash table (ids are never 0).
   */
  private hotId = 0;
  private hotHandler: AliasHandler | undefined = undefined;

  constructor(private readonly kernel: Kernel) {}

  /** Registers `pid` under `name` (OTP's `register/2`); throws as OTP's `badarg` cases do. */
  register(name: string, pid: Pid): true {
    if (typeof name !== 'string' || name === '' || name === 'undefined') {
      throw coreError('ERR_BADARG', `bad name: ${JSON.stringify(name)}`, 'badarg');
    }
    if (pid.node !== this.kernel.name) throw coreError('ERR_NOT_LOCAL', `${pid} is not a process of ${this.kernel.name}`, 'badarg');
    const p = this.kernel.local(pid);
    if (p === undefined) throw coreError('ERR_NOPROC', `${pid} is not alive`, 'badarg');
    const holder = this.names.get(name);
    if (holder !== undefined) throw coreError('ERR_NAME_TAKEN', `${JSON.stringify(name)} is already registered to ${holder.pid}`, 'badarg');
    if (p._name !== undefined) throw coreError('ERR_ALREADY_NAMED', `${pid} is already registered as ${JSON.stringify(p._name)}`, 'badarg');
    this.names.set(name, p);
    p._name = name;
    return true;
  }

  /** Removes a registered name (OTP's `unregister/1`); throws `ERR_NOT_REGISTERED` if unknown. */
  unregister(name: string): true {
    const p = this.names.get(name);
    if (p === undefined) throw coreError('ERR_NOT_REGISTERED', `no process is registered as ${JSON.stringify(name)}`, 'badarg');
    this.names.delete(name);
    p._name = undefined;
    return true;
  }

  /** The process registered as `name`, or undefined. */
  lookup(name: string): ProcessRecord | undefined {
    return this.names.get(name);
  }

  /** Every registered name (OTP's `registered/0`). */
  registered(): string[] {
    return [...this.names.keys()];
  }

  /** Frees the name of a process that exited. */
  release(p: ProcessRecord): void {
    if (p._name !== undefined) this.names.delete(p._name);
  }

  /** Activates an alias: messages sent to `tag` go to `handler` until it is removed. */
  addAlias(tag: Ref, handler: AliasHandler): void {
    if (this.hotId === 0) {
      this.hotId = tag.id;
      this.hotHandler = handler;
    } else this.aliases.set(tag.id, handler);
  }

  /** Deactivates an alias: later messages to it are dropped. */
  removeAlias(tag: Ref): void {
    if (tag.id === this.hotId) {
      this.hotId = 0;
      this.hotHandler = undefined;
    } else if (this.aliases.size !== 0) this.aliases.delete(tag.id);
  }

  /** Delivers `msg` to a local alias of this incarnation; dropped if inactive. */
  deliverAlias(tag: Ref, msg: unknown): void {
    if (tag.creation !== this.kernel.creation) return;
    if (tag.id === this.hotId) this.hotHandler!.onAlias(msg);
    else if (this.aliases.size !== 0) this.aliases.get(tag.id)?.onAlias(msg);
  }

  /** Forgets every name and alias (the node stopped). */
  clear(): void {
    this.hotId = 0;
    this.hotHandler = undefined;
    this.aliases.clear();
    this.names.clear();
  }
}
