/**
 * The application master: what `start` receives, start phases, start types, process
 * ownership (`getApplication`), the stop sequence, the tree dying on its own, maxT, start
 * failures and the master being killed (spec §d.4, §d.5; scenarios 30, 36, 37; OTP's
 * application_SUITE:otp_16504).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  genServer,
  supervisor,
  type ApplicationModule,
  type ExitReason,
  type GenServerBehaviour,
  type Pid,
  type StartType,
  type SupervisorBehaviour,
} from '../src/index.js';
import { NodePool, idle, nodeMaker, oneWorkerSup, runIn, waitFor, watchDown } from './helpers.js';

const pool = new NodePool();
afterEach(() => pool.stopAll());
const newNode = nodeMaker(pool);


function topOf(r: unknown): Pid {
  if (typeof r !== 'object' || r === null || !('ok' in r)) throw new Error(`start failed: ${JSON.stringify(r)}`);
  return (r as { ok: Pid }).ok;
}

describe('start', () => {
  it('calls start with the start type, the spec’s modArgs and a process of the application (the master’s helper), which owns the tree', async () => {
    const node = newNode();
    let seen: { type: StartType; args: unknown; app: string | undefined; startType: unknown } | undefined;
    let top: Pid | undefined;
    node.application.load({
      name: 'a',
      modArgs: { answer: 42 },
      mod: {
        start: async (type, args, self) => {
          seen = { type, args, app: node.application.getApplication(self.pid), startType: node.application.startType(self) };
          const r = await supervisor.startLink(self, oneWorkerSup, undefined);
          top = topOf(r);
          return r;
        },
      },
    });
    expect(await node.application.start('a')).toBe('ok');
    expect(seen).toEqual({ type: 'normal', args: { answer: 42 }, app: 'a', startType: 'normal' });
    expect(node.application.startTypeOf('a')).toBe('normal');
    expect(node.application.getApplication(top!)).toBe('a');
  });

  it('accepts { ok: pid, state } and hands that state to prepStop and stop', async () => {
    const node = newNode();
    const seen: unknown[] = [];
    node.application.load({
      name: 'a',
      mod: {
        start: async (_t, _a, self) => ({ ok: topOf(await supervisor.startLink(self, oneWorkerSup, undefined)), state: 's0' }),
        prepStop: (s: string) => {
          seen.push(['prepStop', s]);
          return `${s}+prep`;
        },
        stop: (s: string) => {
          seen.push(['stop', s]);
        },
      } satisfies ApplicationModule<string>,
    });
    expect(await node.application.start('a')).toBe('ok');
    expect(await node.application.stop('a')).toBe('ok');
    expect(seen).toEqual([
      ['prepStop', 's0'],
      ['stop', 's0+prep'],
    ]);
  });

  it('returns start’s { error } as { error: { reason, callback, application } } and leaves no process behind', async () => {
    const node = newNode();
    let stray: Pid | undefined;
    node.application.load({
      name: 'a',
      mod: {
        start: (_t, _a, self) => {
          stray = self.spawn(async (p) => {
            await p.receive();
          });
          return { error: 'no_db' };
        },
      },
    });
    expect(await node.application.start('a')).toEqual({ error: { reason: 'no_db', callback: 'start', application: 'a' } });
    expect(node.isAlive(stray!)).toBe(false);
    expect(node.application.whichApplications()).toEqual([]);
  });

  // Scenario 30: application with failing top supervisor
  it('reports a top supervisor whose child fails to start as a shutdown failedToStartChild error, and the app can be unloaded', async () => {
    const node = newNode();
    const faultySup: SupervisorBehaviour = {
      init: () => ({
        flags: { strategy: 'one_for_one', intensity: 1, period: 5 },
        children: [
          supervisor.worker('fine', idle, undefined),
          {
            id: 'app_faulty',
            start: () => {
              throw new TypeError('undef');
            },
          },
        ],
      }),
    };
    const before = node.processCount;
    node.application.load({ name: 'app_faulty', mod: { start: (_t, _a, self) => supervisor.startLink(self, faultySup, undefined) } });
    const r = await node.application.start('app_faulty');
    expect(r).toEqual({
      error: {
        reason: { shutdown: { failedToStartChild: 'app_faulty', reason: expect.objectContaining({ error: 'TypeError', message: 'undef' }) } },
        callback: 'start',
        application: 'app_faulty',
      },
    });
    expect(node.stopped).toBe(false);
    expect(node.application.isStarted('app_faulty')).toBe(false);
    await waitFor(() => node.processCount === before, 2000, 'the application’s processes to be gone');
    expect(node.application.unload('app_faulty')).toBe('ok');
  });
});

describe('start phases', () => {
  function phasedApp(log: unknown[], phaseResult: (phase: string) => 'ok' | { error: unknown } = () => 'ok'): ApplicationModule {
    return {
      start: async (type, args, self) => {
        log.push(['start', type, args]);
        return supervisor.startLink(self, oneWorkerSup, undefined);
      },
      startPhase: async (phase, type, args, self) => {
        log.push(['phase', phase, type, args, self.node.application.startType(self)]);
        return phaseResult(phase);
      },
    };
  }

  // Scenario 37: start phases order
  it('runs every phase in spec order, with the start type and its args, before start returns', async () => {
    const node = newNode();
    const log: unknown[] = [];
    node.application.load({
      name: 'a',
      modArgs: 'A',
      startPhases: [
        { name: 'init', args: ['kalle'] },
        { name: 'go', args: ['sune'] },
        { name: 'last' },
      ],
      mod: phasedApp(log),
    });
    const r = await node.application.start('a');
    log.push('returned');
    expect(r).toBe('ok');
    expect(log).toEqual([
      ['start', 'normal', 'A'],
      ['phase', 'init', 'normal', ['kalle'], 'normal'],
      ['phase', 'go', 'normal', ['sune'], 'normal'],
      ['phase', 'last', 'normal', undefined, 'normal'],
      'returned',
    ]);
  });

  // Scenario 37: a failing phase fails the start
  it('fails the start when a phase returns { error }, runs no later phase and leaves nothing running', async () => {
    const node = newNode();
    const log: unknown[] = [];
    let top: Pid | undefined;
    const mod = phasedApp(log, (p) => (p === 'go' ? { error: 'not_ready' } : 'ok'));
    node.application.load({
      name: 'a',
      startPhases: [{ name: 'init' }, { name: 'go', args: 1 }, { name: 'never' }],
      mod: {
        ...mod,
        start: async (type, args, self) => {
          const r = await mod.start(type, args, self);
          top = topOf(r);
          return r;
        },
      },
    });
    const r = await node.application.start('a');
    expect(r).toMatchObject({ error: { reason: 'not_ready', callback: 'startPhase', phase: 'go', application: 'a' } });
    expect(log.map((e) => (e as unknown[])[1])).toEqual(['normal', 'init', 'go']);
    expect(node.isAlive(top!)).toBe(false);
    expect(node.application.isStarted('a')).toBe(false);
    expect(node.application.whichApplications()).toEqual([]);
  });

  it('fails the start when a phase throws', async () => {
    const node = newNode();
    node.application.load({
      name: 'a',
      startPhases: [{ name: 'boom' }],
      mod: {
        start: (_t, _a, self) => supervisor.startLink(self, oneWorkerSup, undefined),
        startPhase: () => {
          throw new Error('phase exploded');
        },
      },
    });
    expect(await node.application.start('a')).toMatchObject({
      error: { reason: { error: 'Error', message: 'phase exploded' }, callback: 'startPhase', phase: 'boom', application: 'a' },
    });
  });

  it('never calls startPhase when startPhases is absent, nor when it is empty', async () => {
    const node = newNode();
    const absent: unknown[] = [];
    const empty: unknown[] = [];
    node.application.load({ name: 'absent', mod: phasedApp(absent) });
    node.application.load({ name: 'empty', startPhases: [], mod: phasedApp(empty) });
    expect(await node.application.start('absent')).toBe('ok');
    expect(await node.application.start('empty')).toBe('ok');
    expect(absent).toEqual([['start', 'normal', undefined]]);
    expect(empty).toEqual([['start', 'normal', undefined]]);
  });

  it('fails the start when phases are listed but the module has no startPhase', async () => {
    const node = newNode();
    node.application.load({ name: 'a', startPhases: [{ name: 'init' }], mod: { start: (_t, _a, self) => supervisor.startLink(self, oneWorkerSup, undefined) } });
    expect(await node.application.start('a')).toMatchObject({ error: { callback: 'startPhase', phase: 'init', application: 'a' } });
    expect(node.application.isStarted('a')).toBe(false);
  });
});

describe('start type and application of a process', () => {
  it('gives workers the start type while starting, local once restarted, and undefined outside any app', async () => {
    const node = newNode();
    const seen: Array<{ pid: Pid; type: unknown }> = [];
    const w: GenServerBehaviour<undefined> = {
      init: (_a, self) => {
        seen.push({ pid: self.pid, type: node.application.startType(self) });
        return { ok: undefined };
      },
    };
    const sup: SupervisorBehaviour = {
      init: () => ({ flags: { strategy: 'one_for_one', intensity: 5, period: 5 }, children: [supervisor.worker('w1', w, undefined), supervisor.worker('w2', w, undefined)] }),
    };
    node.application.load({ name: 'ch', mod: { start: (_t, _a, self) => supervisor.startLink(self, sup, undefined) } });
    expect(await node.application.start('ch')).toBe('ok');
    expect(seen.map((s) => s.type)).toEqual(['normal', 'normal']);
    node.exit(seen[0]!.pid, 'kill');
    await waitFor(() => seen.length === 3, 2000, 'the worker to be restarted');
    expect(seen[2]!.type).toBe('local');
    expect(node.application.getApplication(seen[2]!.pid)).toBe('ch');
    expect(await runIn(node, (self) => node.application.startType(self))).toBeUndefined();
  });

  it('counts processes spawned by the application’s processes as the application’s, and no others', async () => {
    const node = newNode();
    let grandchild: Pid | undefined;
    const w: GenServerBehaviour<undefined> = {
      init: (_a, self) => {
        grandchild = self.spawn(async (p) => {
          await p.receive();
        });
        return { ok: undefined };
      },
    };
    const sup: SupervisorBehaviour = { init: () => ({ flags: {}, children: [supervisor.worker('w', w, undefined)] }) };
    node.application.load({ name: 'a', mod: { start: (_t, _a, self) => supervisor.startLink(self, sup, undefined) } });
    expect(await node.application.start('a')).toBe('ok');
    expect(node.application.getApplication(grandchild!)).toBe('a');
    const outsider = topOf(await genServer.start(node, idle, undefined));
    expect(node.application.getApplication(outsider)).toBeUndefined();
    const fromOutside = await runIn(node, (self) => node.application.getApplication(self));
    expect(fromOutside).toBeUndefined();
  });
});

describe('stop sequence', () => {
  // Scenario 36: stop sequence
  it('runs prepStop, shuts the tree down, runs stop, then kills every leftover process before stop returns', async () => {
    const node = newNode();
    const events: string[] = [];
    let top: Pid | undefined;
    let stray: Pid | undefined;
    let strayOfWorker: Pid | undefined;
    let duringStop: { topAlive: boolean; strayAlive: boolean } | undefined;
    const w: GenServerBehaviour<undefined> = {
      init: (_a, self) => {
        self.trapExit(true);
        strayOfWorker = self.spawn(async (p) => {
          await p.receive();
        });
        return { ok: undefined };
      },
      terminate: (reason) => {
        events.push(`worker terminate ${String(reason)}`);
      },
    };
    const sup: SupervisorBehaviour = { init: () => ({ flags: {}, children: [supervisor.worker('w', w, undefined)] }) };
    const unrelated = node.spawn(async (self) => {
      await self.receive();
    });
    node.application.load({
      name: 'a',
      mod: {
        start: async (_t, _a, self) => {
          stray = self.spawn(async (p) => {
            await p.receive();
          });
          const r = await supervisor.startLink(self, sup, undefined);
          top = topOf(r);
          return { ok: top, state: 'S' };
        },
        prepStop: (s: unknown) => {
          events.push(`prepStop ${String(s)} topAlive=${node.isAlive(top!)}`);
          return 'S2';
        },
        stop: (s: unknown) => {
          duringStop = { topAlive: node.isAlive(top!), strayAlive: node.isAlive(stray!) };
          events.push(`stop ${String(s)}`);
        },
      },
    });
    expect(await node.application.start('a')).toBe('ok');
    const strayDown = watchDown(node, stray!);
    expect(await node.application.stop('a')).toBe('ok');
    expect(events).toEqual(['prepStop S topAlive=true', 'worker terminate shutdown', 'stop S2']);
    expect(duringStop).toEqual({ topAlive: false, strayAlive: true });
    expect(node.isAlive(stray!)).toBe(false);
    expect(node.isAlive(strayOfWorker!)).toBe(false);
    expect(strayDown.reason).toBe('killed');
    expect(node.isAlive(unrelated)).toBe(true);
  });

  it('when the tree dies on its own, runs prepStop and stop and kills leftover processes', async () => {
    const node = newNode();
    const events: string[] = [];
    let top: Pid | undefined;
    let stray: Pid | undefined;
    node.application.load({
      name: 'a',
      mod: {
        start: async (_t, _a, self) => {
          stray = self.spawn(async (p) => {
            await p.receive();
          });
          top = topOf(await supervisor.startLink(self, oneWorkerSup, undefined));
          return { ok: top, state: 'S' };
        },
        prepStop: (s: unknown) => {
          events.push(`prepStop ${String(s)}`);
          return 'S2';
        },
        stop: (s: unknown) => {
          events.push(`stop ${String(s)}`);
        },
      },
    });
    expect(await node.application.start('a')).toBe('ok');
    node.exit(top!, 'kill');
    await waitFor(() => node.application.whereRunning('a') === undefined, 2000, 'the application to die');
    expect(events).toEqual(['prepStop S', 'stop S2']);
    expect(node.isAlive(stray!)).toBe(false);
    expect(node.stopped).toBe(false);
  });

  it('reports a failing prepStop or stop but still finishes the stop', async () => {
    const node = newNode();
    const reasons: ExitReason[] = [];
    node.onReport((r) => {
      if (r.kind === 'application' && r.application === 'a') reasons.push(r.reason);
    });
    let top: Pid | undefined;
    node.application.load({
      name: 'a',
      mod: {
        start: async (_t, _a, self) => {
          const r = await supervisor.startLink(self, oneWorkerSup, undefined);
          top = topOf(r);
          return r;
        },
        prepStop: () => {
          throw new Error('prep failed');
        },
        stop: () => {
          throw new Error('stop failed');
        },
      },
    });
    expect(await node.application.start('a')).toBe('ok');
    expect(await node.application.stop('a')).toBe('ok');
    expect(node.isAlive(top!)).toBe(false);
    expect(reasons).toEqual([expect.objectContaining({ message: 'prep failed' }), expect.objectContaining({ message: 'stop failed' })]);
  });
});

describe('maxT', () => {
  it('stops an application normally once maxT milliseconds have passed', async () => {
    const node = newNode();
    const events: string[] = [];
    let top: Pid | undefined;
    node.application.load({
      name: 'brief',
      maxT: 30,
      mod: {
        start: async (_t, _a, self) => {
          const r = await supervisor.startLink(self, oneWorkerSup, undefined);
          top = topOf(r);
          return r;
        },
        stop: () => {
          events.push('stop');
        },
      },
    });
    expect(await node.application.start('brief', 'transient')).toBe('ok');
    expect(node.application.whereRunning('brief')).toBe('local');
    await waitFor(() => node.application.whereRunning('brief') === undefined, 2000, 'maxT to expire');
    expect(events).toEqual(['stop']);
    expect(node.isAlive(top!)).toBe(false);
    expect(node.stopped).toBe(false);
  });
});

// OTP's application_SUITE:otp_16504 kills an application's master (`exit(Master, kill)`) and
// expects the module's `stop/1` within 3 s: the master runs `start` in a helper process
// (application_master's `start_it`/`loop_it`) that traps exits, so when the master dies the
// helper still runs `prep_stop`, shuts the tree down with the master's reason, runs `stop`
// and exits with that reason.
describe('killing the master (OTP otp_16504)', () => {
  it('otp_16504: killing the master still calls the module’s stop', async () => {
    const node = newNode();
    const stopped: unknown[] = [];
    node.application.load({
      name: 'app1',
      mod: {
        start: (_t, _a, self) => supervisor.startLink(self, oneWorkerSup, undefined),
        stop: (s: unknown) => {
          stopped.push(s);
        },
      },
    });
    expect(await node.application.ensureStarted('app1')).toBe('ok');
    const master = node.application.getMaster('app1');
    expect(master).toBeDefined();
    node.exit(master!, 'kill');
    await waitFor(() => stopped.length === 1, 3000, 'stop to be called after the master was killed');
    expect(stopped).toEqual([undefined]);
  });

  it('otp_16504: runs prepStop while the tree is alive, shuts the tree down with the master’s reason, then stop, and leaves nothing of the application', async () => {
    const node = newNode();
    const events: string[] = [];
    let top: Pid | undefined;
    let stray: Pid | undefined;
    const w: GenServerBehaviour<undefined> = {
      init: (_a, self) => {
        self.trapExit(true);
        return { ok: undefined };
      },
      terminate: (reason) => {
        events.push(`worker terminate ${String(reason)}`);
      },
    };
    const sup: SupervisorBehaviour = { init: () => ({ flags: {}, children: [supervisor.worker('w', w, undefined)] }) };
    node.application.load({
      name: 'app1',
      mod: {
        start: async (_t, _a, self) => {
          stray = self.spawn(async (p) => {
            await p.receive();
          });
          top = topOf(await supervisor.startLink(self, sup, undefined));
          return { ok: top, state: 'S' };
        },
        prepStop: (s: unknown) => {
          events.push(`prepStop ${String(s)} topAlive=${node.isAlive(top!)}`);
          return 'S2';
        },
        stop: (s: unknown) => {
          events.push(`stop ${String(s)} topAlive=${node.isAlive(top!)}`);
        },
      },
    });
    expect(await node.application.start('app1')).toBe('ok');
    const master = node.application.getMaster('app1')!;
    const masterDown = watchDown(node, master);
    const topDown = watchDown(node, top!);
    node.exit(master, 'kill');
    await waitFor(() => events.some((e) => e.startsWith('stop')), 3000, 'stop to be called');
    expect(events).toEqual(['prepStop S topAlive=true', 'worker terminate shutdown', 'stop S2 topAlive=false']);
    expect(masterDown.reason).toBe('killed');
    expect(topDown.reason).toBe('killed');
    await waitFor(() => !node.isAlive(stray!), 2000, 'the application’s other processes to be killed');
    expect(node.application.whereRunning('app1')).toBeUndefined();
    expect(node.application.getMaster('app1')).toBeUndefined();
    expect(node.stopped).toBe(false);
  });

  it('getMaster gives the master of a running application only', async () => {
    const node = newNode();
    node.application.load({ name: 'a', mod: { start: (_t, _a, self) => supervisor.startLink(self, oneWorkerSup, undefined) } });
    node.application.load({ name: 'lib' });
    expect(node.application.getMaster('a')).toBeUndefined();
    expect(await node.application.start('a')).toBe('ok');
    expect(await node.application.start('lib')).toBe('ok');
    const master = node.application.getMaster('a');
    expect(master !== undefined && node.isAlive(master)).toBe(true);
    expect(node.application.getMaster('lib')).toBeUndefined();
    expect(node.application.getMaster('unknown')).toBeUndefined();
    expect(await node.application.stop('a')).toBe('ok');
    expect(node.isAlive(master!)).toBe(false);
    expect(node.application.getMaster('a')).toBeUndefined();
  });
});
