/**
 * Shared test helpers for @rigil/core.
 */
import { formatReason, Node as NodeClass, SimulatedClock, supervisor, type CallError, type GenServerBehaviour, type SupervisorBehaviour, type Node, type Pid, type Process, type Ref } from '../src/index.js';

/**
 * Polls `cond` until it returns true (or a truthy value), failing after `timeoutMs`.
 * Never sleeps blindly: it re-checks after each event-loop turn (and every few ms).
 */
export async function waitFor<T>(cond: () => T, timeoutMs = 2000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Runs `fn` inside a new async-function process of `node` and resolves with what it returns.
 * Rejects if `fn` throws, or if the process exits before `fn` has returned (e.g. killed by a link).
 */
export function runIn<T>(node: Node, fn: (self: Process) => Promise<T> | T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const pid = node.spawn(async (self) => {
      let value: T;
      try {
        value = await fn(self);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
        throw e;
      }
      resolve(value);
    });
    node.monitor(pid, {
      onDown: (_ref, reason) => reject(new Error(`process ${pid} exited before returning: ${formatReason(reason)}`)),
    });
  });
}

// ---------------------------------------------------------------- process-runtime helpers

/**
 * Creates nodes for a test file and stops them all in `afterEach`
 * (`const nodes = new NodePool(); afterEach(() => nodes.stopAll());`).
 */
export class NodePool {
  private readonly nodes: Node[] = [];

  /** A node on a fresh `SimulatedClock` (time moves only with `clock.advance`). */
  simulated(name = 'a@host', creation = 1): { node: Node; clock: SimulatedClock } {
    const clock = new SimulatedClock();
    const node = this.add(new NodeClass({ name, creation, clock }));
    return { node, clock };
  }

  /** Tracks `node` so that `stopAll` stops it. */
  add(node: Node): Node {
    this.nodes.push(node);
    return node;
  }

  /** Stops every node made since the last call. */
  async stopAll(): Promise<void> {
    const ns = this.nodes.splice(0);
    await Promise.all(ns.map((n) => n.stop()));
  }
}

/** One `DOWN` seen by a `watchDown` handler. */
export interface SeenDown {
  readonly ref: Ref;
  readonly reason: unknown;
  readonly object: Pid | readonly [string, string];
}

/** What `watchDown` observes: every `DOWN` for its monitor, in order. */
export interface DownWatch {
  readonly ref: Ref;
  readonly downs: SeenDown[];
  /** True once the monitored process is down. */
  readonly down: boolean;
  /** The exit reason of the first `DOWN` (undefined until then). */
  readonly reason: unknown;
}

/** Monitors `target` from outside any process and records its `DOWN`s. */
export function watchDown(node: Node, target: Pid | string | readonly [string, string]): DownWatch {
  const downs: SeenDown[] = [];
  const ref = node.monitor(target, { onDown: (r, reason, object) => downs.push({ ref: r, reason, object }) });
  return {
    ref,
    downs,
    get down() {
      return downs.length > 0;
    },
    get reason() {
      return downs[0]?.reason;
    },
  };
}

/**
 * Spawns a process that records every message it receives into `got`, in order
 * (optionally trapping exits), so tests can observe a mailbox from outside.
 */
export function spawnRecorder(node: Node, options: { trapExit?: boolean } = {}): { pid: Pid; got: unknown[] } {
  const got: unknown[] = [];
  const pid = node.spawn(async (self) => {
    for (;;) got.push(await self.receive());
  }, options);
  return { pid, got };
}

/** The pid of a successful start; throws (failing the test) otherwise. Now public: @rigil/core's `okPid`. */
export { okPid } from '../src/index.js';

/** The rejection of `p` (fails the test if `p` resolves). */
export async function rejection(p: Promise<unknown>): Promise<CallError> {
  try {
    await p;
  } catch (e) {
    return e as CallError;
  }
  throw new Error('expected the promise to reject');
}

/** A pool-backed `newNode(clock?)` for a test file: nodes named `a@host`, stopped by `stopAll`. */
export function nodeMaker(pool: NodePool): (clock?: SimulatedClock) => Node {
  return (clock) => pool.add(new NodeClass(clock ? { name: 'a@host', clock } : { name: 'a@host' }));
}

/** A gen_server that does nothing (a child for test supervisors). */
export const idle: GenServerBehaviour<undefined> = { init: () => ({ ok: undefined }) };

/** A one_for_one supervisor with one `idle` worker `w` (intensity 1 in 5 s). */
export const oneWorkerSup: SupervisorBehaviour = {
  init: () => ({ flags: { strategy: 'one_for_one', intensity: 1, period: 5 }, children: [supervisor.worker('w', idle, undefined)] }),
};
