/**
 * The application controller's node-level behaviour: concurrent starts, restart types applied
 * to start failures and to application deaths, and node shutdown (spec §d.3, §d.5;
 * scenarios 32, 34, 35, 39).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Node,
  supervisor,
  type AppRestartType,
  type ApplicationSpec,
  type GenServerBehaviour,
  type Pid,
  type Process,
  type Report,
  type SupervisorBehaviour,
} from '../src/index.js';
import { NodePool, nodeMaker, oneWorkerSup, runIn, waitFor } from './helpers.js';

const pool = new NodePool();
afterEach(() => pool.stopAll());
const newNode = nodeMaker(pool);

/** A promise with its resolve function, to hold a callback until the test lets it go. */
function gate<T = void>(): { promise: Promise<T>; open: (v: T) => void } {
  let open!: (v: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** Collects the node's reports. */
function reportsOf(node: Node): Report[] {
  const out: Report[] = [];
  node.onReport((r) => out.push(r));
  return out;
}


/** An application with one idle worker; `stop` appends its name to `stops`. */
function app(name: string, stops: string[] = []): ApplicationSpec {
  return {
    name,
    mod: {
      start: (_t, _a, self) => supervisor.startLink(self, oneWorkerSup, undefined),
      stop: () => {
        stops.push(name);
      },
    },
  };
}

/**
 * An application whose top process is a plain process linked to the master that exits with
 * whatever reason it is sent (`{ die: reason }`); its pid is pushed to `tops`.
 */
function dyingApp(name: string, tops: Pid[]): ApplicationSpec {
  return {
    name,
    mod: {
      start: (_t, _a, self: Process) => {
        const pid = self.spawnLink(async (p) => {
          const m = await p.receive((x): x is { die: unknown } => typeof x === 'object' && x !== null && 'die' in x);
          p.exit(m.die);
        });
        tops.push(pid);
        return { ok: pid };
      },
    },
  };
}

describe('concurrent starts', () => {
  // Scenario 32: concurrent local start
  it('gives two concurrent starts of the same application the same ok, starting it once', async () => {
    const node = newNode();
    const hold = gate();
    let starts = 0;
    let callers = 0;
    node.application.load({
      name: 'app0',
      mod: {
        start: async (_t, _a, self) => {
          starts++;
          await hold.promise;
          return supervisor.startLink(self, oneWorkerSup, undefined);
        },
      },
    });
    const both = Promise.all(
      [1, 2].map(() =>
        runIn(node, () => {
          callers++;
          return node.application.start('app0');
        }),
      ),
    );
    await waitFor(() => callers === 2 && starts === 1, 2000, 'both callers to be waiting on the start');
    hold.open();
    expect(await both).toEqual(['ok', 'ok']);
    expect(starts).toBe(1);
    expect(node.application.whichApplications().map((i) => i.name)).toEqual(['app0']);
  });

  // Scenario 32: concurrent local start
  it('gives two concurrent starts of a failing application the identical error', async () => {
    const node = newNode();
    const hold = gate();
    let starts = 0;
    let callers = 0;
    node.application.load({
      name: 'bad0',
      mod: {
        start: async () => {
          starts++;
          await hold.promise;
          return { error: 'cannot' };
        },
      },
    });
    const both = Promise.all(
      [1, 2].map(() =>
        runIn(node, () => {
          callers++;
          return node.application.start('bad0');
        }),
      ),
    );
    await waitFor(() => callers === 2 && starts === 1, 2000, 'both callers to be waiting on the start');
    hold.open();
    const [r1, r2] = await both;
    expect(r1).toMatchObject({ error: { reason: 'cannot', callback: 'start', application: 'bad0' } });
    expect(r2).toEqual(r1);
    expect(starts).toBe(1);
    expect(node.application.isStarted('bad0')).toBe(false);
  });

  it('makes stop wait for a start in progress and then stop the application', async () => {
    const node = newNode();
    const hold = gate();
    const stops: string[] = [];
    node.application.load({
      name: 'a',
      mod: {
        start: async (_t, _a, self) => {
          await hold.promise;
          return supervisor.startLink(self, oneWorkerSup, undefined);
        },
        stop: () => {
          stops.push('a');
        },
      },
    });
    const started = node.application.start('a');
    const stopped = node.application.stop('a');
    hold.open();
    expect(await started).toBe('ok');
    expect(await stopped).toBe('ok');
    expect(stops).toEqual(['a']);
    expect(node.application.isStarted('a')).toBe(false);
  });

  it('applies start, stop, start made while the first start runs in call order: it ends started (apps seed 461)', async () => {
    const node = newNode();
    const hold = gate();
    const stops: string[] = [];
    let starts = 0;
    node.application.load({
      name: 'a',
      mod: {
        start: async (_t, _a, self) => {
          if (++starts === 1) await hold.promise;
          return supervisor.startLink(self, oneWorkerSup, undefined);
        },
        stop: () => {
          stops.push('a');
        },
      },
    });
    const first = node.application.start('a');
    const stopped = node.application.stop('a');
    const second = node.application.start('a');
    hold.open();
    expect(await first).toBe('ok');
    expect(await stopped).toBe('ok');
    expect(await second).toBe('ok');
    expect(stops).toEqual(['a']);
    expect(starts).toBe(2);
    expect(node.application.isStarted('a')).toBe(true);
    expect(node.application.whichApplications().map((a) => a.name)).toContain('a');
  });
});

describe('a start stopped while it runs (stopStarting, for dist-ac)', () => {
  it('ends the start with { reason: stopped }, kills its processes, runs no stop, and leaves the node up even when permanent', async () => {
    const node = newNode();
    const stops: string[] = [];
    let top: Pid | undefined;
    let inPhase = false;
    node.application.load({
      name: 'ph',
      startPhases: [{ name: 'go' }],
      mod: {
        start: async (_t, _a, self) => {
          const r = await supervisor.startLink(self, oneWorkerSup, undefined);
          if (typeof r === 'object' && 'ok' in r) top = r.ok;
          return r;
        },
        // The phase waits for a message that never comes (a start stuck on the network).
        startPhase: async (_p, _t, _a, self) => {
          inPhase = true;
          await self.receive((m) => m === 'never');
          return 'ok' as const;
        },
        stop: () => {
          stops.push('ph');
        },
      },
    });
    const started = node.application.startLocal('ph', 'normal', 'permanent');
    await waitFor(() => inPhase, 3000, 'the go phase');
    await node.application.stopStarting('ph');
    expect(await started).toEqual({ error: { reason: 'stopped', callback: 'start', application: 'ph' } });
    expect(node.isAlive(top!)).toBe(false);
    expect(stops).toEqual([]);
    expect(node.application.whereRunning('ph')).toBeUndefined();
    expect(node.stopped).toBe(false);
  });
});

describe('start failures and restart types', () => {
  // Scenario 34: transient start failures
  it('a transient application whose start exits normal fails to start but the node keeps running', async () => {
    const node = newNode();
    node.application.load({ name: 'tr', mod: { start: (_t, _a, self) => self.exit('normal') } });
    const r = await node.application.start('tr', 'transient');
    expect(r).toMatchObject({ error: { callback: 'start', application: 'tr' } });
    expect(node.stopped).toBe(false);
    expect(node.application.isStarted('tr')).toBe(false);
  });

  // Scenario 34: transient start failures
  it('a transient application whose start returns a bad value fails to start and stops the node', async () => {
    const node = newNode();
    node.application.load({ name: 'tr', mod: { start: () => 'not a pid' as never } });
    const r = await node.application.start('tr', 'transient');
    expect(r).toEqual({ error: { badReturn: 'not a pid', callback: 'start', application: 'tr' } });
    await waitFor(() => node.stopped, 3000, 'the node to stop');
  });

  it('a permanent application that fails to start stops the node', async () => {
    const node = newNode();
    node.application.load({ name: 'perm', mod: { start: () => ({ error: 'nope' }) } });
    expect(await node.application.start('perm', 'permanent')).toMatchObject({ error: { reason: 'nope' } });
    await waitFor(() => node.stopped, 3000, 'the node to stop');
  });

  it('a temporary application that fails to start only returns the error', async () => {
    const node = newNode();
    const reports = reportsOf(node);
    node.application.load({
      name: 'temp',
      mod: {
        start: () => {
          throw new Error('kaput');
        },
      },
    });
    const r = await node.application.start('temp');
    expect(r).toMatchObject({ error: { reason: { error: 'Error', message: 'kaput' }, callback: 'start', application: 'temp' } });
    expect(node.stopped).toBe(false);
    expect(reports.some((x) => x.kind === 'application' && x.application === 'temp')).toBe(true);
    expect(await node.application.start(app('other'))).toBe('ok');
  });
});

describe('restart types when an application dies', () => {
  const cases: Array<{ restart: AppRestartType; reason: unknown; stops: boolean }> = [
    { restart: 'temporary', reason: 'normal', stops: false },
    { restart: 'temporary', reason: 'shutdown', stops: false },
    { restart: 'temporary', reason: { crashed: 'badly' }, stops: false },
    { restart: 'transient', reason: 'normal', stops: false },
    { restart: 'transient', reason: 'shutdown', stops: true },
    { restart: 'transient', reason: { crashed: 'badly' }, stops: true },
    { restart: 'permanent', reason: 'normal', stops: true },
    { restart: 'permanent', reason: { crashed: 'badly' }, stops: true },
  ];
  for (const c of cases) {
    // Scenario 35: restart type on app death
    it(`a ${c.restart} application whose top process exits ${JSON.stringify(c.reason)} ${c.stops ? 'stops the node' : 'is only reported and the node keeps running'}`, async () => {
      const node = newNode();
      const reports = reportsOf(node);
      const tops: Pid[] = [];
      const stops: string[] = [];
      expect(await node.application.start(app('bystander', stops))).toBe('ok');
      expect(await node.application.start(dyingApp('victim', tops), c.restart)).toBe('ok');
      node.send(tops[0]!, { die: c.reason });
      await waitFor(() => node.application.whereRunning('victim') === undefined, 2000, 'the application to die');
      if (c.stops) {
        await waitFor(() => node.stopped, 3000, 'the node to stop');
        await node.stop();
        expect(stops).toEqual(['bystander']);
      } else {
        expect(node.stopped).toBe(false);
        expect(node.application.isStarted('victim')).toBe(true);
        expect(node.application.whichApplications().map((i) => i.name)).toEqual(['bystander']);
        const exited = reports.find((r) => r.kind === 'application' && r.application === 'victim' && r.message.includes('exited'));
        expect(exited?.reason).toEqual(c.reason);
        expect(await node.application.start('victim', c.restart)).toBe('ok');
      }
    });
  }

  // Scenario 35: restart type on app death (transient, shutdown after max intensity)
  it('a transient application whose supervisor reaches its restart intensity stops the node', async () => {
    const node = newNode();
    const workers: Pid[] = [];
    const w: GenServerBehaviour<undefined> = {
      init: (_a, self) => {
        workers.push(self.pid);
        return { ok: undefined };
      },
    };
    const strict: SupervisorBehaviour = {
      init: () => ({ flags: { strategy: 'one_for_one', intensity: 0, period: 5 }, children: [supervisor.worker('w', w, undefined)] }),
    };
    node.application.load({ name: 'fragile', mod: { start: (_t, _a, self) => supervisor.startLink(self, strict, undefined) } });
    expect(await node.application.start('fragile', 'transient')).toBe('ok');
    node.exit(workers[0]!, 'kill');
    await waitFor(() => node.stopped, 3000, 'the node to stop');
  });
});

describe('node shutdown', () => {
  it('node.stop() stops the applications most recently started first', async () => {
    const node = newNode();
    const stops: string[] = [];
    for (const n of ['first', 'second', 'third']) expect(await node.application.start(app(n, stops))).toBe('ok');
    expect(await node.application.stop('second')).toBe('ok');
    expect(await node.application.start('second')).toBe('ok');
    stops.length = 0;
    await node.stop();
    expect(stops).toEqual(['second', 'third', 'first']);
    expect(node.application.whichApplications()).toEqual([]);
  });

  // Scenario 39: shutdown_func / shutdown_timeout (default shutdown_timeout = infinity)
  it('node.stop() waits for a slow application stop before stopping older applications and killing processes', async () => {
    const node = newNode();
    const events: string[] = [];
    const hold = gate();
    let bystanderAliveDuringStop: boolean | undefined;
    const bystander = node.spawn(async (self) => {
      await self.receive();
    });
    expect(await node.application.start(app('older', events))).toBe('ok');
    node.application.load({
      name: 'slow',
      mod: {
        start: (_t, _a, self) => supervisor.startLink(self, oneWorkerSup, undefined),
        stop: async () => {
          events.push('slow:begin');
          bystanderAliveDuringStop = node.isAlive(bystander);
          await hold.promise;
          events.push('slow:end');
        },
      },
    });
    expect(await node.application.start('slow')).toBe('ok');
    let done = false;
    const stopping = node.stop().then(() => (done = true));
    await waitFor(() => events.includes('slow:begin'), 2000, 'the slow stop callback');
    expect(done).toBe(false);
    expect(events).toEqual(['slow:begin']);
    hold.open();
    await stopping;
    expect(events).toEqual(['slow:begin', 'slow:end', 'older']);
    expect(bystanderAliveDuringStop).toBe(true);
    expect(node.isAlive(bystander)).toBe(false);
  });
});
