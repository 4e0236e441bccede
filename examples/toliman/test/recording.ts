/**
 * What both §G suites (in-process nodes on real sockets, and the simulated cluster) record and
 * read of toliman: proxima's spec wrapped to record every start and start phase, proxima's
 * state as seen from a node, and the checks on who follows which proxima.
 */
import type { ApplicationModule, ApplicationSpec, Pid, Process, StartType } from '@rigil/core';
import type { DistNode } from '@rigil/net';
import { getState, proxima, type ProximaState } from '../src/index.js';

export interface StartRec {
  readonly node: string;
  readonly type: StartType;
  readonly at: number;
}
export interface PhaseRec extends StartRec {
  readonly phase: string;
}
/** proxima's state around the original `go` phase: `before` is the old instance's (takeovers only). */
export interface GoRec extends StartRec {
  readonly before: ProximaState | undefined;
  readonly after: ProximaState | undefined;
  readonly done: number;
}
export interface Recorder {
  readonly starts: StartRec[];
  readonly phases: PhaseRec[];
  readonly go: GoRec[];
  readonly spec: ApplicationSpec;
}

/** JSON form (pids print as `<node.id.creation>`), to compare states seen from different nodes. */
export const plain = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
export const kind = (t: StartType): string => (typeof t === 'string' ? t : 'takeover' in t ? 'takeover' : 'failover');
export const str = (p: Pid | undefined): string | undefined => (p === undefined ? undefined : String(p));

/** proxima's state on `node`, fetched by `caller`; undefined if it cannot be had. */
export async function stateVia(caller: Process | DistNode, node: string): Promise<ProximaState | undefined> {
  try {
    const r = await getState(caller, node);
    return typeof r === 'object' && 'ok' in r ? plain(r.ok) : undefined;
  } catch {
    return undefined;
  }
}

/** proxima's spec, wrapped to record every start and start phase, stamped with `now(self)`. */
export function recorder(now: (self: Process) => number): Recorder {
  const starts: StartRec[] = [];
  const phases: PhaseRec[] = [];
  const go: GoRec[] = [];
  const mod = proxima.mod!;
  const start: ApplicationModule['start'] = (...a) => {
    const [type, , self] = a;
    starts.push({ node: self.node.name, type, at: now(self) });
    return mod.start(...a);
  };
  const startPhase: NonNullable<ApplicationModule['startPhase']> = async (...a) => {
    const [phase, type, , self] = a;
    const node = self.node.name;
    phases.push({ node, phase, type, at: now(self) });
    if (phase !== 'go') return mod.startPhase!(...a);
    const before = typeof type === 'object' && 'takeover' in type ? await stateVia(self, type.takeover) : undefined;
    const at = now(self);
    const r = await mod.startPhase!(...a);
    const after = await stateVia(self, node);
    go.push({ node, type, at, before, after, done: now(self) });
    return r;
  };
  return { starts, phases, go, spec: { ...proxima, mod: { ...mod, start, startPhase } } };
}

/** The pid registered locally as proxima on `local`, if every observer's global name agrees with it. */
export function agreed(local: DistNode, ...observers: DistNode[]): Pid | undefined {
  const pid = local.whereis('proxima');
  if (pid === undefined) return undefined;
  return observers.every((o) => str(o.global.whereis('proxima')) === String(pid)) ? pid : undefined;
}

/** True when `n`'s centauri monitors `proximaPid` (it was pinged by it and answered pong). */
export function centauriFollows(n: DistNode, proximaPid: Pid): boolean {
  const c = n.whereis('centauri');
  const info = c === undefined ? undefined : n.processInfo(c);
  return info !== undefined && info.monitors.some((m) => str(m as Pid) === String(proximaPid));
}

/** The phases `rec` recorded on `node` since `since`, as [phase, type]. */
export function phasesOf(rec: Recorder, node: string, since = 0): Array<[string, StartType]> {
  return rec.phases.filter((p) => p.node === node && p.at >= since).map((p) => [p.phase, p.type]);
}
