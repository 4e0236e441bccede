import { afterEach, describe, expect, it } from 'vitest';
import {
  CallError,
  Pid,
  RigilError,
  formatReason,
  genServer,
  isExit,
  supervisor,
  type ChildId,
  type ChildSpec,
  type ChildStartResult,
  type ExitReason,
  type GenServerBehaviour,
  type Node,
  type Process,
  type Report,
  type SupFlags,
  type SupervisorBehaviour,
} from '../src/index.js';
import { NodePool, idle, oneWorkerSup, rejection, waitFor, watchDown, type DownWatch } from './helpers.js';

const nodes = new NodePool();
afterEach(() => nodes.stopAll());

/** A fresh node on a SimulatedClock (time moves only with `clock.advance`). */
function setup(): { node: Node; clock: ReturnType<NodePool['simulated']>['clock']; t: Tracker } {
  const { node, clock } = nodes.simulated();
  return { node, clock, t: new Tracker(node) };
}

/** A supervisor behaviour whose init returns these flags and children. */
function sup(flags: SupFlags, children: ChildSpec[]): SupervisorBehaviour<undefined> {
  return { init: () => ({ flags, children }) };
}

/** Starts an unlinked supervisor and returns its pid (fails the test otherwise). */
async function startSup(node: Node, flags: SupFlags, children: ChildSpec[]): Promise<Pid> {
  const r = await supervisor.start(node, sup(flags, children), undefined);
  if (typeof r !== 'object' || !('ok' in r)) throw new Error(`supervisor start failed: ${formatReason(r)}`);
  return r.ok;
}

/**
 * Starts a supervisor with `startLink` from a long-lived (exit-trapping) parent process;
 * returns the parent's process handle (to send `exit(sup, …)` from it) and the supervisor.
 */
function startLinkedSup(node: Node, behaviour: SupervisorBehaviour<undefined>): Promise<{ parent: Process; sup: Pid }> {
  return new Promise((resolve, reject) => {
    node.spawn(
      async (self) => {
        const r = await supervisor.startLink(self, behaviour, undefined);
        if (typeof r !== 'object' || !('ok' in r)) {
          reject(new Error(`startLink failed: ${formatReason(r)}`));
          return;
        }
        resolve({ parent: self, sup: r.ok });
        await self.receive(() => false);
      },
      { trapExit: true },
    );
  });
}

/** The pid column of `id` in `whichChildren`. */
async function pidOf(node: Node, s: Pid, id: ChildId): Promise<Pid | undefined | 'restarting'> {
  const rows = await supervisor.whichChildren(node, s);
  const row = rows.find((r) => r.id === id);
  if (row === undefined) throw new Error(`child ${String(id)} is not listed`);
  return row.pid;
}

/** Ids listed by `whichChildren`, sorted. */
async function idsOf(node: Node, s: Pid): Promise<ChildId[]> {
  return (await supervisor.whichChildren(node, s)).map((r) => r.id as ChildId).sort();
}

/** A message that makes a tracked child exit with `die` as reason. */
interface Die {
  readonly die: ExitReason;
}
function isDie(m: unknown): m is Die {
  return typeof m === 'object' && m !== null && 'die' in m;
}

interface ChildOptions {
  /** Trap exits (so a shutdown signal arrives as an `EXIT` message). */
  trap?: boolean;
  /** When trapping: after the supervisor's exit signal, wait this many (clock) ms, then exit with its reason. Undefined: ignore it forever. */
  stopAfter?: number;
  /** Overrides for the produced spec (restart, shutdown, type, modules). */
  spec?: Omit<ChildSpec, 'id' | 'start'>;
  /** Called before each start with the attempt number (1 = first start); a returned value is the start's result instead of spawning. */
  fail?: (attempt: number) => ChildStartResult | undefined;
}

/**
 * Makes children that record what happens to them: `start <id>` when started, `signal <id> <reason>`
 * when (trapping) they get an exit signal, `exit <id> <reason>` when they exit.
 */
class Tracker {
  readonly log: string[] = [];
  private readonly pids = new Map<ChildId, Pid[]>();
  private readonly tries = new Map<ChildId, number>();
  constructor(readonly node: Node) {}

  /** A child spec whose start spawns a tracked process linked to the supervisor. */
  child(id: ChildId, o: ChildOptions = {}): ChildSpec {
    return {
      id,
      start: (s) => {
        const n = (this.tries.get(id) ?? 0) + 1;
        this.tries.set(id, n);
        const failure = o.fail?.(n);
        if (failure !== undefined) return failure;
        return this.spawn(s, id, o);
      },
      ...o.spec,
    };
  }

  /** Spawns a tracked process linked to `s`. */
  spawn(s: Process, id: ChildId, o: ChildOptions = {}): Pid {
    const log = this.log;
    const pid = s.spawn(
      async (self) => {
        for (;;) {
          const m = await self.receive();
          if (isDie(m)) self.exit(m.die);
          if (isExit(m)) {
            log.push(`signal ${String(id)} ${formatReason(m.reason)}`);
            if (o.stopAfter !== undefined) {
              if (o.stopAfter > 0) await self.receive(() => false, o.stopAfter);
              self.exit(m.reason);
            }
          }
        }
      },
      o.trap ? { trapExit: true } : undefined,
    );
    s.link(pid);
    log.push(`start ${String(id)}`);
    this.node.monitor(pid, { onDown: (_ref, reason) => log.push(`exit ${String(id)} ${formatReason(reason)}`) });
    const list = this.pids.get(id) ?? [];
    list.push(pid);
    this.pids.set(id, list);
    return pid;
  }

  /** Every pid started for `id`, in order. */
  started(id: ChildId): Pid[] {
    return this.pids.get(id) ?? [];
  }

  /** The latest pid started for `id`. */
  last(id: ChildId): Pid {
    const list = this.started(id);
    const p = list[list.length - 1];
    if (p === undefined) throw new Error(`child ${String(id)} never started`);
    return p;
  }

  /** How many times the start function of `id` ran. */
  attempts(id: ChildId): number {
    return this.tries.get(id) ?? 0;
  }

  /** Log lines that are exits (`exit <id> <reason>`), in order. */
  exits(): string[] {
    return this.log.filter((l) => l.startsWith('exit '));
  }

  /** Makes the latest process of `id` exit with `reason` (from its own code, so `normal` works too). */
  die(id: ChildId, reason: ExitReason): void {
    this.node.send(this.last(id), { die: reason } satisfies Die);
  }
}

/** A gen_server worker that only answers `ping`. */
const pinger: GenServerBehaviour<null, undefined> = {
  init: () => ({ ok: null }),
  handleCall: (_req, _from, s) => ({ reply: 'pong', state: s }),
};

/** Collects the node's supervisor reports. */
function supervisorReports(node: Node): Report[] {
  const out: Report[] = [];
  node.onReport((r) => {
    if (r.kind === 'supervisor') out.push(r);
  });
  return out;
}

// ==================================================================================== start

describe('starting a supervisor', () => {
  // Scenario 15 — init ignore / errors
  it('init returning ignore makes start return ignore and the supervisor process exits normal', async () => {
    const { node } = setup();
    let watch: DownWatch | undefined;
    const r = await supervisor.start(node, { init: (_a, self) => ((watch = watchDown(node, self.pid)), 'ignore') }, undefined);
    expect(r).toBe('ignore');
    await waitFor(() => watch?.down, 2000, 'supervisor exit');
    expect(watch?.reason).toBe('normal');
  });

  // Scenario 15 — init ignore / errors
  it('init returning an invalid value makes start return an error and the process exits with that error', async () => {
    const { node } = setup();
    let watch: DownWatch | undefined;
    const bad = { wrong: true };
    const r = await supervisor.start(node, { init: (_a, self) => ((watch = watchDown(node, self.pid)), bad as never) }, undefined);
    expect(r).toEqual({ error: { badReturn: bad } });
    await waitFor(() => watch?.down, 2000, 'supervisor exit');
    expect(watch?.reason).toEqual({ badReturn: bad });
  });

  // Scenario 15 — init ignore / errors
  it('init throwing makes start return the thrown reason and the process exits with it', async () => {
    const { node } = setup();
    let watch: DownWatch | undefined;
    const r = await supervisor.start(
      node,
      {
        init: (_a, self) => {
          watch = watchDown(node, self.pid);
          throw new Error('boom');
        },
      },
      undefined,
    );
    expect(r).toMatchObject({ error: { error: 'Error', message: 'boom' } });
    await waitFor(() => watch?.down, 2000, 'supervisor exit');
    expect(watch?.reason).toEqual((r as { error: unknown }).error);
  });

  it('children start in list order, each linked to the supervisor, and are listed by whichChildren', async () => {
    const { node, t } = setup();
    const s = await startSup(node, {}, [t.child('a'), t.child('b'), t.child('c')]);
    expect(t.log).toEqual(['start a', 'start b', 'start c']);
    for (const id of ['a', 'b', 'c']) {
      expect(node.processInfo(t.last(id))?.links).toEqual([s]);
      expect(await pidOf(node, s, id)).toBe(t.last(id));
    }
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 3, active: 3, supervisors: 0, workers: 3 });
  });

  it('a child failing to start during init stops the started children in reverse order and the start fails with failedToStartChild', async () => {
    const { node, t } = setup();
    const supWatch: DownWatch[] = [];
    const r = await supervisor.start(
      node,
      {
        init: (_a, self) => {
          supWatch.push(watchDown(node, self.pid));
          return { flags: {}, children: [t.child('a'), t.child('b'), t.child('c', { fail: () => ({ error: 'nope' }) }), t.child('d')] };
        },
      },
      undefined,
    );
    expect(r).toEqual({ error: { shutdown: { failedToStartChild: 'c', reason: 'nope' } } });
    expect(t.log).toEqual(['start a', 'start b', 'exit b shutdown', 'exit a shutdown']);
    expect(t.attempts('d')).toBe(0);
    await waitFor(() => supWatch[0]?.down, 2000, 'supervisor exit');
    expect(supWatch[0]?.reason).toEqual({ shutdown: { failedToStartChild: 'c', reason: 'nope' } });
    expect(node.isAlive(t.last('a'))).toBe(false);
  });

  it('a child start function that throws fails the supervisor start with the thrown error as reason', async () => {
    const { node, t } = setup();
    const r = await supervisor.start(
      node,
      sup({}, [
        t.child('a'),
        {
          id: 'thrower',
          start: () => {
            throw new Error('cannot start');
          },
        },
      ]),
      undefined,
    );
    expect(r).toMatchObject({ error: { shutdown: { failedToStartChild: 'thrower', reason: { message: 'cannot start' } } } });
    expect(t.exits()).toEqual(['exit a shutdown']);
  });

  it('starting a supervisor under a taken name returns { error: { alreadyStarted: pid } }', async () => {
    const { node } = setup();
    const first = await supervisor.start(node, sup({}, []), undefined, { name: 'top_sup' });
    const firstPid = (first as { ok: Pid }).ok;
    expect(node.whereis('top_sup')).toBe(firstPid);
    const second = await supervisor.start(node, sup({}, []), undefined, { name: 'top_sup' });
    expect(second).toEqual({ error: { alreadyStarted: firstPid } });
    expect(await supervisor.countChildren(node, 'top_sup')).toEqual({ specs: 0, active: 0, supervisors: 0, workers: 0 });
  });

  // Scenario 16 — child returns ignore
  it('a permanent child returning ignore is kept with pid undefined and counted as a spec but not as active', async () => {
    const { node, t } = setup();
    const s = await startSup(node, {}, [
      { id: 'child1', start: () => 'ignore', modules: [] },
      t.child('child2', { spec: { modules: [] } }),
    ]);
    const rows = await supervisor.whichChildren(node, s);
    expect(rows.find((r) => r.id === 'child1')).toEqual({ id: 'child1', pid: undefined, type: 'worker', modules: [] });
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 2, active: 1, supervisors: 0, workers: 2 });
    // Starting another permanent child that ignores: { ok: undefined }, and its spec is kept.
    expect(await supervisor.startChild(node, s, { id: 'child3', start: () => 'ignore' })).toEqual({ ok: undefined });
    expect(await pidOf(node, s, 'child3')).toBeUndefined();
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 3, active: 1, supervisors: 0, workers: 3 });
  });

  // Scenario 16 — child returns ignore
  it('a temporary child returning ignore is not stored, at init or through startChild, and the supervisor still shuts down with shutdown', async () => {
    const { node, t } = setup();
    const s = await startSup(node, {}, [{ id: 'child1', start: () => 'ignore', restart: 'temporary' }, t.child('child2')]);
    expect(await idsOf(node, s)).toEqual(['child2']);
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 1, active: 1, supervisors: 0, workers: 1 });
    expect(await supervisor.startChild(node, s, { id: 'child3', start: () => 'ignore', restart: 'temporary' })).toEqual({ ok: undefined });
    expect(await idsOf(node, s)).toEqual(['child2']);
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 1, active: 1, supervisors: 0, workers: 1 });
    const w = watchDown(node, s);
    node.exit(s, 'shutdown');
    await waitFor(() => w.down, 2000, 'supervisor exit');
    expect(w.reason).toBe('shutdown');
    expect(t.exits()).toEqual(['exit child2 shutdown']);
  });

  // Scenario 16 — child returns ignore
  it('a simple_one_for_one child returning ignore is never stored, whatever its restart type', async () => {
    const { node } = setup();
    for (const restart of ['permanent', 'temporary'] as const) {
      const s = await startSup(node, { strategy: 'simple_one_for_one' }, [{ id: 'tpl', start: () => 'ignore', restart }]);
      expect(await supervisor.startChild(node, s, [])).toEqual({ ok: undefined });
      expect(await supervisor.whichChildren(node, s)).toEqual([]);
      expect(await supervisor.countChildren(node, s)).toEqual({ specs: 1, active: 0, supervisors: 0, workers: 0 });
      const w = watchDown(node, s);
      node.exit(s, 'shutdown');
      await waitFor(() => w.down, 2000, 'supervisor exit');
      expect(w.reason).toBe('shutdown');
    }
  });

  // Scenario 17 — child spec defaults
  it('getChildSpec fills in the defaults: permanent, 5000 ms for workers, infinity for supervisors, worker, [id]', async () => {
    const { node, t } = setup();
    const inner = sup({}, []);
    const s = await startSup(node, {}, [t.child('w'), supervisor.supervisorChild('inner', inner, undefined), supervisor.worker('gs', pinger, undefined)]);
    const w = await supervisor.getChildSpec(node, s, 'w');
    expect(w).toMatchObject({ ok: { id: 'w', restart: 'permanent', shutdown: 5000, type: 'worker', modules: ['w'] } });
    const i = await supervisor.getChildSpec(node, s, 'inner');
    expect(i).toMatchObject({ ok: { id: 'inner', restart: 'permanent', shutdown: 'infinity', type: 'supervisor', modules: ['inner'] } });
    const byPid = await supervisor.getChildSpec(node, s, t.last('w'));
    expect(byPid).toMatchObject({ ok: { id: 'w' } });
    expect(await supervisor.getChildSpec(node, s, 'nobody')).toEqual({ error: 'not_found' });
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 3, active: 3, supervisors: 1, workers: 2 });
    const gs = await pidOf(node, s, 'gs');
    expect(gs).toBeInstanceOf(Pid);
    expect(await genServer.call(node, gs as Pid, 'ping')).toBe('pong');
  });

  // Scenario 17 — child spec defaults
  it('getChildSpec keeps the values the spec gave explicitly', async () => {
    const { node, t } = setup();
    const s = await startSup(node, {}, [t.child('x', { spec: { restart: 'transient', shutdown: 'brutal_kill', modules: 'dynamic' } })]);
    expect(await supervisor.getChildSpec(node, s, 'x')).toMatchObject({
      ok: { id: 'x', restart: 'transient', shutdown: 'brutal_kill', type: 'worker', modules: 'dynamic' },
    });
  });
});

// ==================================================================================== validation

describe('child spec and flag validation', () => {
  const start = (): ChildStartResult => 'ignore';

  // Scenario 18 — invalid specs and flags
  it('invalid child specs in init make start fail with { startSpec: error }', async () => {
    const { node } = setup();
    const cases: Array<[unknown, unknown]> = [
      [{ start }, 'missing_id'],
      [{ id: 'c' }, 'missing_start'],
      ['child4', { invalidChildSpec: 'child4' }],
      [{ id: 'c', start: 'mfa' }, { invalidMfa: 'mfa' }],
      [{ id: 'c', start, restart: 'prmanent' }, { invalidRestartType: 'prmanent' }],
      [{ id: 'c', start, shutdown: -10 }, { invalidShutdown: -10 }],
      [{ id: 'c', start, type: 'wrker' }, { invalidChildType: 'wrker' }],
      [{ id: 'c', start, modules: 'dy' }, { invalidModules: 'dy' }],
      [{ id: 'c', start, modules: [1] }, { invalidModule: 1 }],
    ];
    for (const [spec, error] of cases) {
      const r = await supervisor.start(node, sup({}, [spec as ChildSpec]), undefined);
      expect(r, JSON.stringify(spec)).toEqual({ error: { startSpec: error } });
    }
    expect(node.processCount).toBe(0);
  });

  // Scenario 18 — invalid specs and flags
  it('two children with the same id in init fail with { startSpec: { duplicateChildName: id } }', async () => {
    const { node } = setup();
    const r = await supervisor.start(node, sup({}, [{ id: 'child', start }, { id: 'child', start }]), undefined);
    expect(r).toEqual({ error: { startSpec: { duplicateChildName: 'child' } } });
  });

  // Scenario 18 — invalid specs and flags
  it('unknown keys in child specs and flags are ignored', async () => {
    const { node, t } = setup();
    const spec = { ...t.child('c'), significant: false, whatever: 1 } as ChildSpec;
    const s = await startSup(node, { strategy: 'one_for_one', auto_shutdown: 'never', foo: 1 } as SupFlags, [spec]);
    expect(await pidOf(node, s, 'c')).toBe(t.last('c'));
  });

  // Scenario 18 — invalid specs and flags
  it('startChild with a bad spec returns the bare error and starts nothing', async () => {
    const { node } = setup();
    const s = await startSup(node, {}, []);
    const cases: Array<[unknown, unknown]> = [
      [{ start }, 'missing_id'],
      [{ id: 'c' }, 'missing_start'],
      [{ id: 'c', start: 'mfa' }, { invalidMfa: 'mfa' }],
      [{ id: 'c', start, restart: 'prmanent' }, { invalidRestartType: 'prmanent' }],
      [{ id: 'c', start, shutdown: -10 }, { invalidShutdown: -10 }],
      [{ id: 'c', start, type: 'wrker' }, { invalidChildType: 'wrker' }],
      [{ id: 'c', start, modules: 'dy' }, { invalidModules: 'dy' }],
      [{ id: 'c', start, modules: [1] }, { invalidModule: 1 }],
    ];
    for (const [spec, error] of cases) {
      expect(await supervisor.startChild(node, s, spec as ChildSpec), JSON.stringify(spec)).toEqual({ error });
    }
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 0, active: 0, supervisors: 0, workers: 0 });
  });

  // Scenario 18 — invalid specs and flags
  it('a simple_one_for_one supervisor with zero or two specs fails with { badStartSpec: specs }', async () => {
    const { node } = setup();
    expect(await supervisor.start(node, sup({ strategy: 'simple_one_for_one' }, []), undefined)).toEqual({ error: { badStartSpec: [] } });
    const two = [
      { id: 'a', start },
      { id: 'b', start },
    ];
    expect(await supervisor.start(node, sup({ strategy: 'simple_one_for_one' }, two), undefined)).toEqual({ error: { badStartSpec: two } });
  });

  // Scenario 18 — invalid specs and flags
  it('bad supervisor flags fail the start with { supervisorData: { invalid…: value } }', async () => {
    const { node } = setup();
    const cases: Array<[unknown, unknown]> = [
      [{ strategy: 'one_for_some' }, { invalidStrategy: 'one_for_some' }],
      [{ intensity: -1 }, { invalidIntensity: -1 }],
      [{ intensity: 1.5 }, { invalidIntensity: 1.5 }],
      [{ intensity: 'many' }, { invalidIntensity: 'many' }],
      [{ period: 0 }, { invalidPeriod: 0 }],
      [{ period: -5 }, { invalidPeriod: -5 }],
      ['flags', { invalidType: 'flags' }],
    ];
    for (const [flags, error] of cases) {
      const r = await supervisor.start(node, sup(flags as SupFlags, []), undefined);
      expect(r, JSON.stringify(flags)).toEqual({ error: { supervisorData: error } });
    }
    expect(node.processCount).toBe(0);
  });

  it('checkChildSpecs validates without starting anything', () => {
    expect(supervisor.checkChildSpecs([{ id: 'a', start }, { id: 'b', start, restart: 'transient' }])).toBe('ok');
    expect(supervisor.checkChildSpecs([])).toBe('ok');
    expect(supervisor.checkChildSpecs([{ id: 'a', start, restart: 'prmanent' }])).toEqual({ error: { invalidRestartType: 'prmanent' } });
    expect(supervisor.checkChildSpecs([{ id: 'a', start, shutdown: -10 }])).toEqual({ error: { invalidShutdown: -10 } });
    expect(supervisor.checkChildSpecs([{ start }])).toEqual({ error: 'missing_id' });
    expect(supervisor.checkChildSpecs([{ id: 'child', start }, { id: 'child', start }])).toEqual({ error: { duplicateChildName: 'child' } });
    let started = false;
    expect(supervisor.checkChildSpecs([{ id: 'a', start: () => ((started = true), 'ignore') }])).toBe('ok');
    expect(started).toBe(false);
  });
});

// ==================================================================================== shutdown

describe('shutting down', () => {
  // Scenario 19 — supervisor shutdown of children (infinity)
  it('a supervisor stopped by its startLink parent stops its children in reverse start order, waiting as long as a child with infinity takes, and exits shutdown', async () => {
    const { node, clock, t } = setup();
    const { parent, sup: s } = await startLinkedSup(
      node,
      sup({}, [
        t.child('child1', { spec: { shutdown: 'infinity' } }),
        t.child('child2', { trap: true, stopAfter: 10_000, spec: { shutdown: 'infinity' } }),
      ]),
    );
    const w = watchDown(node, s);
    parent.exit(s, 'shutdown');
    await waitFor(() => t.log.includes('signal child2 shutdown'), 2000, 'child2 signalled');
    await clock.advance(9_999);
    expect(t.exits()).toEqual([]);
    expect(w.down).toBe(false);
    await clock.advance(1);
    await waitFor(() => w.down, 2000, 'supervisor exit');
    expect(t.exits()).toEqual(['exit child2 shutdown', 'exit child1 shutdown']);
    expect(w.reason).toBe('shutdown');
  });

  // Scenario 19 — supervisor shutdown of children (timeout)
  it('a child that ignores the shutdown signal is killed once its shutdown time has passed, then earlier children are stopped', async () => {
    const { node, clock, t } = setup();
    const s = await startSup(node, {}, [
      t.child('child1', { spec: { shutdown: 1000 } }),
      t.child('child2', { trap: true, spec: { shutdown: 1000 } }),
    ]);
    const w = watchDown(node, s);
    node.exit(s, 'shutdown');
    await waitFor(() => t.log.includes('signal child2 shutdown'), 2000, 'child2 signalled');
    await clock.advance(999);
    expect(node.isAlive(t.last('child2'))).toBe(true);
    expect(node.isAlive(t.last('child1'))).toBe(true);
    expect(w.down).toBe(false);
    await clock.advance(1);
    await waitFor(() => w.down, 2000, 'supervisor exit');
    expect(t.exits()).toEqual(['exit child2 killed', 'exit child1 shutdown']);
    expect(w.reason).toBe('shutdown');
  });

  // Scenario 19 — supervisor shutdown of children (brutal_kill)
  it('brutal_kill children are killed at once even when they trap exits, in reverse start order', async () => {
    const { node, t } = setup();
    const { parent, sup: s } = await startLinkedSup(
      node,
      sup({}, [
        t.child('child1', { trap: true, spec: { shutdown: 'brutal_kill' } }),
        t.child('child2', { trap: true, spec: { shutdown: 'brutal_kill' } }),
      ]),
    );
    const w = watchDown(node, s);
    parent.exit(s, 'shutdown');
    await waitFor(() => w.down, 2000, 'supervisor exit');
    expect(t.exits()).toEqual(['exit child2 killed', 'exit child1 killed']);
    expect(t.log.some((l) => l.startsWith('signal'))).toBe(false);
    expect(w.reason).toBe('shutdown');
  });

  it('a supervisor started with start(node, …) is stopped by node.exit(sup, shutdown) like a parent would stop it', async () => {
    const { node, t } = setup();
    const s = await startSup(node, {}, [t.child('a'), t.child('b'), t.child('c')]);
    const w = watchDown(node, s);
    node.exit(s, 'shutdown');
    await waitFor(() => w.down, 2000, 'supervisor exit');
    expect(t.exits()).toEqual(['exit c shutdown', 'exit b shutdown', 'exit a shutdown']);
    expect(w.reason).toBe('shutdown');
  });

  it('a nested supervisor stops its own children before it exits, while its parent waits (shutdown infinity)', async () => {
    const { node, t } = setup();
    const inner = sup({}, [t.child('i1'), t.child('i2')]);
    const s = await startSup(node, {}, [t.child('o1'), supervisor.supervisorChild('inner', inner, undefined), t.child('o2')]);
    const innerPid = (await pidOf(node, s, 'inner')) as Pid;
    const innerWatch = watchDown(node, innerPid);
    const w = watchDown(node, s);
    node.exit(s, 'shutdown');
    await waitFor(() => w.down, 2000, 'supervisor exit');
    expect(t.exits()).toEqual(['exit o2 shutdown', 'exit i2 shutdown', 'exit i1 shutdown', 'exit o1 shutdown']);
    expect(innerWatch.reason).toBe('shutdown');
  });

  it('terminateChild of a child with shutdown 500 that ignores the signal resolves after 500 ms with the child killed', async () => {
    const { node, clock, t } = setup();
    const s = await startSup(node, {}, [t.child('slow', { trap: true, spec: { shutdown: 500 } })]);
    let result: unknown;
    const pending = supervisor.terminateChild(node, s, 'slow').then((r) => (result = r));
    await waitFor(() => t.log.includes('signal slow shutdown'), 2000, 'slow signalled');
    await clock.advance(499);
    expect(result).toBeUndefined();
    expect(node.isAlive(t.last('slow'))).toBe(true);
    await clock.advance(1);
    await pending;
    expect(result).toBe('ok');
    expect(t.exits()).toEqual(['exit slow killed']);
    expect(await pidOf(node, s, 'slow')).toBeUndefined();
  });
});

// ==================================================================================== dynamic API

describe('dynamic child administration', () => {
  // Scenario 20 — child administration API
  it('startChild, terminateChild, restartChild and deleteChild follow OTP return values', async () => {
    const { node, t } = setup();
    const s = await startSup(node, {}, []);
    const spec = t.child('child1');
    const r1 = await supervisor.startChild(node, s, spec);
    const pid1 = t.last('child1');
    expect(r1).toEqual({ ok: pid1 });
    expect(await supervisor.startChild(node, s, spec)).toEqual({ error: { alreadyStarted: pid1 } });
    expect(await supervisor.terminateChild(node, s, 'hej')).toEqual({ error: 'not_found' });
    expect(await supervisor.deleteChild(node, s, 'child1')).toEqual({ error: 'running' });

    expect(await supervisor.terminateChild(node, s, 'child1')).toBe('ok');
    expect(t.exits()).toEqual(['exit child1 shutdown']);
    expect(await supervisor.whichChildren(node, s)).toEqual([{ id: 'child1', pid: undefined, type: 'worker', modules: ['child1'] }]);
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 1, active: 0, supervisors: 0, workers: 1 });
    expect(await supervisor.terminateChild(node, s, 'child1')).toBe('ok');
    expect(await supervisor.startChild(node, s, spec)).toEqual({ error: 'already_present' });

    const r2 = await supervisor.restartChild(node, s, 'child1');
    const pid2 = t.last('child1');
    expect(pid2).not.toBe(pid1);
    expect(r2).toEqual({ ok: pid2 });
    expect(await supervisor.restartChild(node, s, 'child1')).toEqual({ error: 'running' });
    expect(await supervisor.restartChild(node, s, 'nobody')).toEqual({ error: 'not_found' });
    expect(await supervisor.deleteChild(node, s, 'nobody')).toEqual({ error: 'not_found' });

    expect(await supervisor.terminateChild(node, s, 'child1')).toBe('ok');
    expect(await supervisor.deleteChild(node, s, 'child1')).toBe('ok');
    expect(await supervisor.whichChildren(node, s)).toEqual([]);
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 0, active: 0, supervisors: 0, workers: 0 });
    expect(await supervisor.restartChild(node, s, 'child1')).toEqual({ error: 'not_found' });
  });

  // Scenario 20 — child administration API
  it('a child terminated through the API is not restarted, and terminateChild with a pid that is not a child is not_found', async () => {
    const { node, t } = setup();
    const s = await startSup(node, {}, [t.child('child1')]);
    const stranger = node.spawn(async (self) => {
      await self.receive(() => false);
    });
    expect(await supervisor.terminateChild(node, s, stranger)).toEqual({ error: 'not_found' });
    expect(node.isAlive(stranger)).toBe(true);
    const pid1 = t.last('child1');
    expect(await supervisor.terminateChild(node, s, pid1)).toBe('ok');
    expect(node.isAlive(pid1)).toBe(false);
    // A later call is served after anything the supervisor did in between: still no restart.
    expect(await pidOf(node, s, 'child1')).toBeUndefined();
    expect(t.started('child1')).toHaveLength(1);
  });

  // Scenario 20 — child administration API (extra_return)
  it('startChild and restartChild pass on the info a start function returns with its pid', async () => {
    const { node, t } = setup();
    const s = await startSup(node, {}, []);
    const spec: ChildSpec = { id: 'extra', start: (p) => ({ ok: t.spawn(p, 'extra'), info: { extra: 1 } }) };
    expect(await supervisor.startChild(node, s, spec)).toEqual({ ok: t.last('extra'), info: { extra: 1 } });
    expect(await supervisor.terminateChild(node, s, 'extra')).toBe('ok');
    expect(await supervisor.restartChild(node, s, 'extra')).toEqual({ ok: t.last('extra'), info: { extra: 1 } });
    expect(t.started('extra')).toHaveLength(2);
  });

  // Scenario 20 — child administration API
  it('a failing startChild returns an error and keeps no spec', async () => {
    const { node, t } = setup();
    const s = await startSup(node, {}, [t.child('a')]);
    const r = await supervisor.startChild(node, s, { id: 'bad', start: () => ({ error: 'nope' }) });
    expect(r).toHaveProperty('error');
    expect(JSON.stringify(r)).toContain('nope');
    expect(await idsOf(node, s)).toEqual(['a']);
    expect(await supervisor.getChildSpec(node, s, 'bad')).toEqual({ error: 'not_found' });
  });

  // Scenario 20 — child administration API
  it('any call to a supervisor that does not exist rejects with noproc', async () => {
    const { node } = setup();
    const s = await startSup(node, {}, []);
    const w = watchDown(node, s);
    node.exit(s, 'kill');
    await waitFor(() => w.down, 2000, 'supervisor exit');
    for (const p of [
      supervisor.whichChildren(node, s),
      supervisor.countChildren(node, s),
      supervisor.terminateChild(node, s, 'x'),
      supervisor.startChild(node, s, { id: 'x', start: () => 'ignore' }),
      supervisor.whichChildren(node, 'no_such_sup'),
    ]) {
      const e: unknown = await p.then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(CallError);
      expect((e as CallError).code).toBe('ERR_CALL_NOPROC');
      expect((e as CallError).reason).toBe('noproc');
    }
  });

  // Scenario 21 — simple_one_for_one administration
  it('simple_one_for_one children are anonymous and only addressable by pid', async () => {
    const { node, t } = setup();
    const s = await startSup(node, { strategy: 'simple_one_for_one' }, [t.child('child1')]);
    expect(await supervisor.whichChildren(node, s)).toEqual([]);
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 1, active: 0, supervisors: 0, workers: 0 });
    const r1 = await supervisor.startChild(node, s, []);
    const c1 = t.last('child1');
    const r2 = await supervisor.startChild(node, s, []);
    const c2 = t.last('child1');
    expect(r1).toEqual({ ok: c1 });
    expect(r2).toEqual({ ok: c2 });
    const rows = await supervisor.whichChildren(node, s);
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.id)).toEqual([undefined, undefined]);
    expect(rows.map((r) => r.pid).sort()).toEqual([c1, c2].sort());
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 1, active: 2, supervisors: 0, workers: 2 });

    expect(await supervisor.terminateChild(node, s, 'child1')).toEqual({ error: 'simple_one_for_one' });
    expect(await supervisor.terminateChild(node, s, c1)).toBe('ok');
    expect(node.isAlive(c1)).toBe(false);
    expect(t.exits()).toEqual(['exit child1 shutdown']);
    expect(await supervisor.terminateChild(node, s, c1)).toBe('ok');
    const stranger = node.spawn(async (self) => {
      await self.receive(() => false);
    });
    expect(await supervisor.terminateChild(node, s, stranger)).toEqual({ error: 'not_found' });
    expect(await supervisor.restartChild(node, s, 'child1')).toEqual({ error: 'simple_one_for_one' });
    expect(await supervisor.deleteChild(node, s, 'child1')).toEqual({ error: 'simple_one_for_one' });
    expect(await supervisor.whichChildren(node, s)).toEqual([{ id: undefined, pid: c2, type: 'worker', modules: ['child1'] }]);
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 1, active: 1, supervisors: 0, workers: 1 });
  });

  it('simple_one_for_one appends the startChild arguments to the start call and restarts a child with the same arguments', async () => {
    const { node, t } = setup();
    const seen: unknown[][] = [];
    const tpl: ChildSpec = {
      id: 'tpl',
      start: (p, ...extra: unknown[]) => {
        seen.push(extra);
        return t.spawn(p, String(extra[0]));
      },
    };
    const s = await startSup(node, { strategy: 'simple_one_for_one', intensity: 5 }, [tpl]);
    await supervisor.startChild(node, s, ['x', 1]);
    await supervisor.startChild(node, s, ['y', 2]);
    expect(seen).toEqual([
      ['x', 1],
      ['y', 2],
    ]);
    const old = t.last('x');
    node.exit(old, 'kill');
    await waitFor(() => t.started('x').length === 2, 2000, 'x restarted');
    expect(seen[2]).toEqual(['x', 1]);
    const pids = (await supervisor.whichChildren(node, s)).map((r) => r.pid);
    expect(pids).toHaveLength(2);
    expect(pids).toContain(t.last('x'));
    expect(pids).toContain(t.last('y'));
    expect(pids).not.toContain(old);
  });
});

// ==================================================================================== restart types

describe('restart types', () => {
  // Scenario 22 — restart types (permanent)
  it('a permanent child is restarted whatever its exit reason: normal, shutdown, { shutdown: x } or abnormal', async () => {
    const { node, t } = setup();
    const s = await startSup(node, { intensity: 10, period: 3600 }, [t.child('p')]);
    const reasons: ExitReason[] = ['normal', 'shutdown', { shutdown: 'x' }, 'bad'];
    for (const [i, reason] of reasons.entries()) {
      t.die('p', reason);
      await waitFor(() => t.started('p').length === i + 2, 2000, `restart after ${formatReason(reason)}`);
      expect(await pidOf(node, s, 'p')).toBe(t.last('p'));
    }
    expect(t.exits()).toEqual(['exit p normal', 'exit p shutdown', 'exit p {"shutdown":"x"}', 'exit p bad']);
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 1, active: 1, supervisors: 0, workers: 1 });
  });

  // Scenario 22 — restart types (transient)
  it('a transient child is restarted only after an abnormal exit, and otherwise kept with pid undefined', async () => {
    const { node, t } = setup();
    for (const reason of ['normal', 'shutdown', { shutdown: 'x' }] as ExitReason[]) {
      const tt = new Tracker(node);
      const s = await startSup(node, { intensity: 10, period: 3600 }, [tt.child('tr', { spec: { restart: 'transient' } })]);
      const w = watchDown(node, tt.last('tr'));
      tt.die('tr', reason);
      await waitFor(() => w.down, 2000, 'child exit');
      expect(await pidOf(node, s, 'tr')).toBeUndefined();
      expect(await supervisor.countChildren(node, s)).toEqual({ specs: 1, active: 0, supervisors: 0, workers: 1 });
      expect(tt.started('tr')).toHaveLength(1);
    }
    const s = await startSup(node, { intensity: 10, period: 3600 }, [t.child('tr', { spec: { restart: 'transient' } })]);
    t.die('tr', 'abnormal');
    await waitFor(() => t.started('tr').length === 2, 2000, 'restart after abnormal exit');
    expect(await pidOf(node, s, 'tr')).toBe(t.last('tr'));
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 1, active: 1, supervisors: 0, workers: 1 });
  });

  // Scenario 22 — restart types (temporary)
  it('a temporary child is never restarted and its spec is removed, whatever its exit reason', async () => {
    const { node } = setup();
    for (const reason of ['normal', 'shutdown', 'abnormal'] as ExitReason[]) {
      const t = new Tracker(node);
      const s = await startSup(node, { intensity: 10, period: 3600 }, [t.child('tmp', { spec: { restart: 'temporary' } })]);
      const w = watchDown(node, t.last('tmp'));
      t.die('tmp', reason);
      await waitFor(() => w.down, 2000, 'child exit');
      expect(await supervisor.whichChildren(node, s)).toEqual([]);
      expect(await supervisor.countChildren(node, s)).toEqual({ specs: 0, active: 0, supervisors: 0, workers: 0 });
      expect(t.started('tmp')).toHaveLength(1);
    }
  });

  it('terminateChild of a temporary child removes its spec', async () => {
    const { node, t } = setup();
    const s = await startSup(node, {}, [t.child('tmp', { spec: { restart: 'temporary' } }), t.child('perm')]);
    expect(await supervisor.terminateChild(node, s, 'tmp')).toBe('ok');
    expect(await idsOf(node, s)).toEqual(['perm']);
    expect(await supervisor.restartChild(node, s, 'tmp')).toEqual({ error: 'not_found' });
  });

  // Scenario 23 — temporary bystander (one_for_all)
  it('one_for_all: a temporary bystander is terminated and dropped, not restarted, when a permanent sibling exits', async () => {
    const { node, t } = setup();
    const s = await startSup(node, { strategy: 'one_for_all', intensity: 2, period: 300 }, [t.child('child1'), t.child('child2', { spec: { restart: 'temporary' } })]);
    const c2 = t.last('child2');
    t.die('child1', 'normal');
    await waitFor(() => t.started('child1').length === 2, 2000, 'child1 restarted');
    expect(await idsOf(node, s)).toEqual(['child1']);
    expect(node.isAlive(c2)).toBe(false);
    expect(t.exits()).toEqual(['exit child1 normal', 'exit child2 shutdown']);
    expect(t.started('child2')).toHaveLength(1);
    expect(node.isAlive(s)).toBe(true);
  });

  // Scenario 23 — temporary bystander (rest_for_one)
  it('rest_for_one: a temporary child started after the dead one is terminated and dropped, not restarted', async () => {
    const { node, t } = setup();
    const s = await startSup(node, { strategy: 'rest_for_one', intensity: 2, period: 300 }, [t.child('child1'), t.child('child2', { spec: { restart: 'temporary' } })]);
    t.die('child1', 'normal');
    await waitFor(() => t.started('child1').length === 2, 2000, 'child1 restarted');
    expect(await idsOf(node, s)).toEqual(['child1']);
    expect(t.exits()).toEqual(['exit child1 normal', 'exit child2 shutdown']);
    expect(t.started('child2')).toHaveLength(1);
    expect(node.isAlive(s)).toBe(true);
  });
});

// ==================================================================================== intensity

describe('restart intensity', () => {
  // Scenario 24 — intensity window (multiple_restarts)
  it('intensity 1 in 1 s: a child killed four times 2.1 s apart is restarted every time and the supervisor survives', async () => {
    const { node, clock, t } = setup();
    const s = await startSup(node, { intensity: 1, period: 1 }, [t.child('c')]);
    for (let i = 1; i <= 4; i++) {
      node.exit(t.last('c'), 'kill');
      await waitFor(() => t.started('c').length === i + 1, 2000, `restart ${i}`);
      expect(await pidOf(node, s, 'c')).toBe(t.last('c'));
      await clock.advance(2100);
    }
    expect(node.isAlive(s)).toBe(true);
  });

  // Scenario 24 — intensity window (one_for_one)
  it('intensity 2 in 3600 s: the third child death ends the supervisor with shutdown after terminating the other children', async () => {
    const { node, clock, t } = setup();
    const s = await startSup(node, { intensity: 2, period: 3600 }, [t.child('a'), t.child('c'), t.child('b')]);
    const w = watchDown(node, s);
    for (let i = 1; i <= 2; i++) {
      node.exit(t.last('c'), 'kill');
      await waitFor(() => t.started('c').length === i + 1, 2000, `restart ${i}`);
      await clock.advance(60_000);
    }
    expect(node.isAlive(s)).toBe(true);
    t.log.length = 0;
    node.exit(t.last('c'), 'kill');
    await waitFor(() => w.down, 2000, 'supervisor exit');
    expect(w.reason).toBe('shutdown');
    expect(t.started('c')).toHaveLength(3);
    expect(t.log).toEqual(['exit c killed', 'exit b shutdown', 'exit a shutdown']);
  });

  it('restarts older than the period are forgotten: intensity 1 in 5 s survives deaths 6.1 s apart but not 4 s apart', async () => {
    const { node, clock } = setup();
    {
      const t = new Tracker(node);
      const s = await startSup(node, { intensity: 1, period: 5 }, [t.child('c')]);
      node.exit(t.last('c'), 'kill');
      await waitFor(() => t.started('c').length === 2, 2000, 'first restart');
      await clock.advance(6100);
      node.exit(t.last('c'), 'kill');
      await waitFor(() => t.started('c').length === 3, 2000, 'second restart');
      expect(node.isAlive(s)).toBe(true);
    }
    {
      const t = new Tracker(node);
      const s = await startSup(node, { intensity: 1, period: 5 }, [t.child('c')]);
      const w = watchDown(node, s);
      node.exit(t.last('c'), 'kill');
      await waitFor(() => t.started('c').length === 2, 2000, 'first restart');
      await clock.advance(4000);
      node.exit(t.last('c'), 'kill');
      await waitFor(() => w.down, 2000, 'supervisor exit');
      expect(w.reason).toBe('shutdown');
      expect(t.started('c')).toHaveLength(2);
    }
  });

  // Scenario 25 — intensity 0
  it('intensity 0: the first child death ends the supervisor with shutdown and nothing is restarted', async () => {
    const { node, t } = setup();
    const s = await startSup(node, { intensity: 0, period: 5 }, [t.child('a'), t.child('b')]);
    const w = watchDown(node, s);
    node.exit(t.last('a'), 'kill');
    await waitFor(() => w.down, 2000, 'supervisor exit');
    expect(w.reason).toBe('shutdown');
    expect(t.started('a')).toHaveLength(1);
    expect(t.started('b')).toHaveLength(1);
    expect(t.exits()).toEqual(['exit a killed', 'exit b shutdown']);
  });

  // Scenario 25 — intensity 0
  it('intensity 0 also ends the supervisor when a permanent child exits normally', async () => {
    const { node, t } = setup();
    const s = await startSup(node, { intensity: 0 }, [t.child('a')]);
    const w = watchDown(node, s);
    t.die('a', 'normal');
    await waitFor(() => w.down, 2000, 'supervisor exit');
    expect(w.reason).toBe('shutdown');
    expect(t.started('a')).toHaveLength(1);
  });

  // Scenario 26 — restart escalation (one_for_one)
  it('one_for_one: a child whose restart keeps failing is retried, each retry counting, until intensity is reached and the supervisor exits', async () => {
    const { node, t } = setup();
    const s = await startSup(node, { intensity: 2, period: 3600 }, [
      t.child('a'),
      t.child('flaky', { fail: (n) => (n > 1 ? { error: 'no_restart' } : undefined) }),
      t.child('b'),
    ]);
    const w = watchDown(node, s);
    node.exit(t.last('flaky'), 'kill');
    await waitFor(() => w.down, 2000, 'supervisor exit');
    expect(w.reason).toBe('shutdown');
    // The death and one retry fit within intensity 2; the next retry exceeds it.
    expect(t.attempts('flaky')).toBe(3);
    expect(t.exits()).toEqual(['exit flaky killed', 'exit b shutdown', 'exit a shutdown']);
  });

  // Scenario 26 — restart escalation (one_for_all)
  it('one_for_all: a group whose restart keeps failing is retried until intensity is reached and the supervisor exits', async () => {
    const { node, t } = setup();
    const s = await startSup(node, { strategy: 'one_for_all', intensity: 2, period: 3600 }, [
      t.child('a'),
      t.child('flaky', { fail: (n) => (n > 1 ? { error: 'no_restart' } : undefined) }),
    ]);
    const w = watchDown(node, s);
    node.exit(t.last('a'), 'kill');
    await waitFor(() => w.down, 2000, 'supervisor exit');
    expect(w.reason).toBe('shutdown');
    expect(t.attempts('flaky')).toBe(3);
    expect(t.started('a')).toHaveLength(3);
    for (const p of t.started('a')) expect(node.isAlive(p)).toBe(false);
  });

  // Scenario 26 — restart escalation (simple_one_for_one)
  it('simple_one_for_one: a child whose restart keeps failing is retried until intensity is reached, and the other children are terminated', async () => {
    const { node, t } = setup();
    let tries = 0;
    const tpl: ChildSpec = {
      id: 'tpl',
      start: (p, name: string) => {
        if (name === 'flaky' && ++tries > 1) return { error: 'no_restart' };
        return t.spawn(p, name);
      },
    };
    const s = await startSup(node, { strategy: 'simple_one_for_one', intensity: 2, period: 3600 }, [tpl]);
    await supervisor.startChild(node, s, ['other']);
    await supervisor.startChild(node, s, ['flaky']);
    const w = watchDown(node, s);
    node.exit(t.last('flaky'), 'kill');
    await waitFor(() => w.down, 2000, 'supervisor exit');
    expect(w.reason).toBe('shutdown');
    expect(tries).toBe(3);
    expect(t.exits()).toEqual(['exit flaky killed', 'exit other shutdown']);
  });

  it('a failing restart does not block the supervisor: between retries it answers calls and shows the child as restarting', async () => {
    const { node, t } = setup();
    const pending: Array<{ sup: Process; resolve: (r: ChildStartResult) => void }> = [];
    let attempts = 0;
    const flaky: ChildSpec = {
      id: 'flaky',
      start: (p) => {
        attempts++;
        if (attempts === 1) return t.spawn(p, 'flaky');
        return new Promise<ChildStartResult>((resolve) => pending.push({ sup: p, resolve }));
      },
    };
    const s = await startSup(node, { intensity: 5, period: 3600 }, [t.child('a'), flaky]);
    node.exit(t.last('flaky'), 'kill');
    await waitFor(() => pending.length === 1, 2000, 'first restart attempt');
    const which = supervisor.whichChildren(node, s);
    const del = supervisor.deleteChild(node, s, 'flaky');
    const rst = supervisor.restartChild(node, s, 'flaky');
    const count = supervisor.countChildren(node, s);
    pending[0]!.resolve({ error: 'not_yet' });
    expect((await which).find((r) => r.id === 'flaky')?.pid).toBe('restarting');
    expect(await del).toEqual({ error: 'restarting' });
    expect(await rst).toEqual({ error: 'restarting' });
    expect(await count).toEqual({ specs: 2, active: 1, supervisors: 0, workers: 2 });
    await waitFor(() => pending.length === 2, 2000, 'retry');
    const second = pending[1]!;
    second.resolve(t.spawn(second.sup, 'flaky'));
    expect(await pidOf(node, s, 'flaky')).toBe(t.last('flaky'));
    expect(attempts).toBe(3);
    expect(node.isAlive(s)).toBe(true);
    expect(t.started('a')).toHaveLength(1);
  });

  it('a child terminated through the API while it is restarting is not restarted again', async () => {
    const { node, t } = setup();
    const pending: Array<(r: ChildStartResult) => void> = [];
    let attempts = 0;
    const flaky: ChildSpec = {
      id: 'flaky',
      start: (p) => {
        attempts++;
        if (attempts === 2) return new Promise<ChildStartResult>((resolve) => pending.push(resolve));
        return t.spawn(p, 'flaky');
      },
    };
    const s = await startSup(node, { intensity: 5, period: 3600 }, [flaky]);
    node.exit(t.last('flaky'), 'kill');
    await waitFor(() => pending.length === 1, 2000, 'first restart attempt');
    const term = supervisor.terminateChild(node, s, 'flaky');
    pending[0]!({ error: 'not_yet' });
    expect(await term).toBe('ok');
    // This call is served after the queued retry.
    const pid = await pidOf(node, s, 'flaky');
    expect(attempts).toBe(2);
    expect(pid).toBeUndefined();
    expect(t.started('flaky')).toHaveLength(1);
  });
});

// ==================================================================================== strategies

describe('strategies', () => {
  it('one_for_one: only the dead child is restarted; its siblings keep their pids', async () => {
    const { node, t } = setup();
    const s = await startSup(node, { strategy: 'one_for_one' }, [t.child('a'), t.child('b'), t.child('c')]);
    const [a, c] = [t.last('a'), t.last('c')];
    node.exit(t.last('b'), 'kill');
    await waitFor(() => t.started('b').length === 2, 2000, 'b restarted');
    expect(await pidOf(node, s, 'a')).toBe(a);
    expect(await pidOf(node, s, 'b')).toBe(t.last('b'));
    expect(await pidOf(node, s, 'c')).toBe(c);
    expect(t.exits()).toEqual(['exit b killed']);
  });

  // Scenario 27 — one_for_all
  it('one_for_all: killing child1 terminates child2 with shutdown and both restart with new pids in start order', async () => {
    const { node, t } = setup();
    const s = await startSup(node, { strategy: 'one_for_all' }, [t.child('child1'), t.child('child2')]);
    const [c1, c2] = [t.last('child1'), t.last('child2')];
    t.log.length = 0;
    node.exit(c1, 'kill');
    await waitFor(() => t.started('child2').length === 2, 2000, 'group restarted');
    expect(t.log).toEqual(['exit child1 killed', 'exit child2 shutdown', 'start child1', 'start child2']);
    const [n1, n2] = [await pidOf(node, s, 'child1'), await pidOf(node, s, 'child2')];
    expect(n1).toBe(t.last('child1'));
    expect(n2).toBe(t.last('child2'));
    expect(n1).not.toBe(c1);
    expect(n2).not.toBe(c2);
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 2, active: 2, supervisors: 0, workers: 2 });
  });

  // Scenario 27 — one_for_all (other child fails restart)
  it('one_for_all: when child2 fails to restart, the freshly restarted child1 is terminated with shutdown and the whole group is retried', async () => {
    const { node, t } = setup();
    const s = await startSup(node, { strategy: 'one_for_all', intensity: 5, period: 3600 }, [
      t.child('child1'),
      t.child('child2', { fail: (n) => (n === 2 ? { error: 'once' } : undefined) }),
    ]);
    t.log.length = 0;
    node.exit(t.last('child1'), 'kill');
    await waitFor(() => t.started('child2').length === 2, 2000, 'group retried');
    const c1 = t.started('child1');
    expect(c1).toHaveLength(3);
    expect(node.isAlive(c1[1]!)).toBe(false);
    // child1 restarted, child2 failed, the fresh child1 went down with shutdown, then the group was retried.
    expect(t.log).toEqual(['exit child1 killed', 'exit child2 shutdown', 'start child1', 'exit child1 shutdown', 'start child1', 'start child2']);
    expect(await pidOf(node, s, 'child1')).toBe(c1[2]);
    expect(await pidOf(node, s, 'child2')).toBe(t.last('child2'));
    expect(t.attempts('child2')).toBe(3);
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 2, active: 2, supervisors: 0, workers: 2 });
  });

  // Scenario 28 — rest_for_one
  it('rest_for_one: killing child2 terminates child3 with shutdown, restarts child2 then child3, and child1 keeps its pid', async () => {
    const { node, t } = setup();
    const s = await startSup(node, { strategy: 'rest_for_one' }, [t.child('child1'), t.child('child2'), t.child('child3')]);
    const [c1, c2, c3] = [t.last('child1'), t.last('child2'), t.last('child3')];
    t.log.length = 0;
    node.exit(c2, 'kill');
    await waitFor(() => t.started('child3').length === 2, 2000, 'rest restarted');
    expect(t.log).toEqual(['exit child2 killed', 'exit child3 shutdown', 'start child2', 'start child3']);
    expect(await pidOf(node, s, 'child1')).toBe(c1);
    expect(await pidOf(node, s, 'child2')).toBe(t.last('child2'));
    expect(await pidOf(node, s, 'child3')).toBe(t.last('child3'));
    expect(t.last('child2')).not.toBe(c2);
    expect(t.last('child3')).not.toBe(c3);
  });

  it('rest_for_one: killing the last child restarts only that child', async () => {
    const { node, t } = setup();
    const s = await startSup(node, { strategy: 'rest_for_one' }, [t.child('child1'), t.child('child2')]);
    const c1 = t.last('child1');
    node.exit(t.last('child2'), 'kill');
    await waitFor(() => t.started('child2').length === 2, 2000, 'child2 restarted');
    expect(await pidOf(node, s, 'child1')).toBe(c1);
    expect(t.exits()).toEqual(['exit child2 killed']);
  });

  // Scenario 28 — rest_for_one (failed restart)
  it('rest_for_one: when a later child fails to restart, the retry restarts the group from the dead child so every child ends up running', async () => {
    const { node, t } = setup();
    const s = await startSup(node, { strategy: 'rest_for_one', intensity: 5, period: 3600 }, [
      t.child('child1'),
      t.child('child2'),
      t.child('child3', { fail: (n) => (n === 2 ? { error: 'once' } : undefined) }),
    ]);
    const c1 = t.last('child1');
    node.exit(t.last('child2'), 'kill');
    await waitFor(() => t.started('child3').length === 2, 2000, 'child3 restarted');
    const rows = await supervisor.whichChildren(node, s);
    expect(rows.find((r) => r.id === 'child1')?.pid).toBe(c1);
    expect(rows.find((r) => r.id === 'child2')?.pid).toBeInstanceOf(Pid);
    expect(rows.find((r) => r.id === 'child3')?.pid).toBe(t.last('child3'));
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 3, active: 3, supervisors: 0, workers: 3 });
  });

  // Scenario 29 — simple_one_for_one shutdown timing
  it('simple_one_for_one: stopping the supervisor signals all children at once and kills the slow one at the shutdown time', async () => {
    const { node, clock, t } = setup();
    const tpl: ChildSpec = {
      id: 'tpl',
      shutdown: 2000,
      start: (p, name: string, delay: number) => t.spawn(p, name, { trap: true, stopAfter: delay }),
    };
    const s = await startSup(node, { strategy: 'simple_one_for_one' }, [tpl]);
    await supervisor.startChild(node, s, ['fast1', 1000]);
    await supervisor.startChild(node, s, ['fast2', 1000]);
    await supervisor.startChild(node, s, ['slow', 5000]);
    let downAt: number | undefined;
    const w = watchDown(node, s);
    node.monitor(s, { onDown: () => (downAt = clock.now()) });
    node.exit(s, 'shutdown');
    await waitFor(() => t.log.filter((l) => l.startsWith('signal')).length === 3, 2000, 'all children signalled');
    // All three got the signal at time 0, before any of them exited.
    expect(clock.now()).toBe(0);
    expect(t.exits()).toEqual([]);
    await clock.advance(6000);
    await waitFor(() => w.down, 2000, 'supervisor exit');
    expect(w.reason).toBe('shutdown');
    expect(downAt).toBeGreaterThanOrEqual(1000);
    expect(downAt).toBeLessThan(5000);
    expect(downAt).toBe(2000);
    expect([...t.exits()].sort()).toEqual(['exit fast1 shutdown', 'exit fast2 shutdown', 'exit slow killed']);
  });
});

// ==================================================================================== reports

describe('supervisor reports', () => {
  it('a child exiting abnormally is reported as child_terminated with its id and reason; a transient child exiting normally is not', async () => {
    const { node, t } = setup();
    const reports = supervisorReports(node);
    const s = await startSup(node, { intensity: 5 }, [t.child('perm'), t.child('tr', { spec: { restart: 'transient' } })]);
    node.exit(t.last('perm'), 'kill');
    await waitFor(() => t.started('perm').length === 2, 2000, 'perm restarted');
    const w = watchDown(node, t.last('tr'));
    t.die('tr', 'normal');
    await waitFor(() => w.down, 2000, 'tr exit');
    await supervisor.whichChildren(node, s);
    const terminated = reports.filter((r) => r.event === 'child_terminated');
    expect(terminated).toHaveLength(1);
    expect(terminated[0]).toMatchObject({ kind: 'supervisor', event: 'child_terminated', pid: s, childId: 'perm', reason: 'killed' });
  });

  it('reaching the maximum restart intensity is reported as reached_max_restart_intensity', async () => {
    const { node, t } = setup();
    const reports = supervisorReports(node);
    const s = await startSup(node, { intensity: 0 }, [t.child('c')]);
    const w = watchDown(node, s);
    node.exit(t.last('c'), 'kill');
    await waitFor(() => w.down, 2000, 'supervisor exit');
    expect(reports.map((r) => r.event)).toEqual(['child_terminated', 'reached_max_restart_intensity']);
    expect(reports[1]).toMatchObject({ kind: 'supervisor', pid: s, childId: 'c' });
  });
});

describe('bad input from JavaScript callers', () => {
  it('supervisor.startLink given the node instead of the calling process rejects with ERR_BADARG naming supervisor.start(), and node.stop() is clean', async () => {
    const { node } = setup();
    const e = await rejection(supervisor.startLink(node as unknown as Process, oneWorkerSup, undefined, { name: 'top' }));
    expect(e).toBeInstanceOf(RigilError);
    expect(e.code).toBe('ERR_BADARG');
    expect(e.message).toContain('supervisor.start()');
    expect(node.processCount).toBe(0);
    expect(node.whereis('top')).toBeUndefined();
    await expect(node.stop()).resolves.toBeUndefined();
  });

  // Before: both children started "linked" to the node, and at max intensity the supervisor
  // died of `TypeError … reading 'equals'`; node.stop() then threw a TypeError.
  it('a child start function that wrongly calls genServer.startLink with the node fails the start with a clear ERR_BADARG reason, not a TypeError', async () => {
    const { node } = setup();
    const reports: Report[] = [];
    node.onReport((r) => reports.push(r));
    const wrong = (id: string): ChildSpec => ({ id, start: () => genServer.startLink(node as unknown as Process, idle, undefined) });
    const r = await supervisor.start(node, sup({ strategy: 'one_for_one', intensity: 1, period: 5 }, [wrong('a'), wrong('b')]), undefined);
    expect(r).toMatchObject({
      error: { shutdown: { failedToStartChild: 'a', reason: { error: 'RigilError', code: 'ERR_BADARG', message: expect.stringContaining('genServer.start()') } } },
    });
    expect(node.processCount).toBe(0);
    expect(reports.some((x) => formatReason(x.reason).includes('TypeError'))).toBe(false);
    await expect(node.stop()).resolves.toBeUndefined();
  });

  it('startChild with such a start function returns the ERR_BADARG error and the supervisor keeps running', async () => {
    const { node } = setup();
    const s = await startSup(node, {}, []);
    const r = await supervisor.startChild(node, s, { id: 'bad', start: () => genServer.startLink(node as unknown as Process, idle, undefined) });
    expect(r).toMatchObject({ error: { code: 'ERR_BADARG' } });
    expect(await supervisor.countChildren(node, s)).toEqual({ specs: 0, active: 0, supervisors: 0, workers: 0 });
  });

  it('a supervisor behaviour without an init function rejects start with ERR_BADARG', async () => {
    const { node } = setup();
    for (const b of [null, {}, { init: 1 }]) {
      expect((await rejection(supervisor.start(node, b as unknown as SupervisorBehaviour, undefined))).code).toBe('ERR_BADARG');
    }
    expect(node.processCount).toBe(0);
  });
});
