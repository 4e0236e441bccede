/**
 * Process identifiers and references: `{node, id, creation}` values, printable like
 * Erlang's, comparable by value.
 *
 * `creation` tells incarnations of a node apart: a pid of a previous life of node `a` is
 * never equal to a pid of the current one. Within one node every live process has exactly
 * one `Pid` object, so pids work as `Map`/`Set` keys; pids decoded from the wire are
 * interned by the distribution layer (`Node.internPid`) for the same reason.
 */

/** A process identifier (OTP's `pid()`). */
export class Pid {
  /** Name of the node the process lives on, `name@host`. */
  readonly node: string;
  /** Serial number of the process on its node. */
  readonly id: number;
  /** Incarnation of the node that spawned it. */
  readonly creation: number;
  /** @internal Direct link to the live process record on its own node, cleared at exit. */
  _proc: unknown;

  constructor(node: string, id: number, creation: number, proc?: unknown) {
    this.node = node;
    this.id = id;
    this.creation = creation;
    this._proc = proc;
  }

  /** Value equality: same node, id and creation (OTP's `=:=` on pids). */
  equals(other: unknown): boolean {
    return (
      this === other ||
      (other instanceof Pid && other.id === this.id && other.node === this.node && other.creation === this.creation)
    );
  }

  /** Prints as `<node.id.creation>`, e.g. `<a@host.42.1>` (OTP's `pid_to_list/1`). */
  toString(): string {
    return `<${this.node}.${this.id}.${this.creation}>`;
  }

  /** JSON form is the printed form, so logs and `--json` output stay readable. */
  toJSON(): string {
    return this.toString();
  }

  /** Prints as `<node.id.creation>` in `console.log` and `util.inspect`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** Orders pids by node name, then id (OTP's term order on pids). */
  static compare(a: Pid, b: Pid): number {
    if (a.node !== b.node) return a.node < b.node ? -1 : 1;
    if (a.creation !== b.creation) return a.creation - b.creation;
    return a.id - b.id;
  }
}

/** A unique reference (OTP's `make_ref/0`): monitors, call tags, timers. */
export class Ref {
  /** Name of the node that made it. */
  readonly node: string;
  /** Serial number on that node. */
  readonly id: number;
  /** Incarnation of the node that made it. */
  readonly creation: number;

  constructor(node: string, id: number, creation: number) {
    this.node = node;
    this.id = id;
    this.creation = creation;
  }

  /** Value equality (OTP's `=:=` on references). */
  equals(other: unknown): boolean {
    return (
      this === other ||
      (other instanceof Ref && other.id === this.id && other.node === this.node && other.creation === this.creation)
    );
  }

  /** Prints as `#Ref<node.id.creation>`. */
  toString(): string {
    return `#Ref<${this.node}.${this.id}.${this.creation}>`;
  }

  /** Prints as `#Ref<node.id.creation>` in `console.log` and `util.inspect`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** JSON form is the printed form. */
  toJSON(): string {
    return this.toString();
  }
}

/** True when `x` is a pid (OTP's `is_pid/1`). */
export function isPid(x: unknown): x is Pid {
  return x instanceof Pid;
}

/** True when `x` is a reference (OTP's `is_reference/1`). */
export function isRef(x: unknown): x is Ref {
  return x instanceof Ref;
}
