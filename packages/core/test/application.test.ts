/**
 * `node.application`: load / unload, start / stop and their error values, ensureStarted,
 * ensureAllStarted, queries, environment, keys, takeover and permit (spec §d.1–§d.3, §d.6;
 * scenarios 31, 33, 38).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  RigilError,
  genServer,
  supervisor,
  type ApplicationSpec,
  type GenServerBehaviour,
  type Pid,
  type SupervisorBehaviour,
} from '../src/index.js';
import { NodePool, idle, nodeMaker, oneWorkerSup, runIn, waitFor } from './helpers.js';

const pool = new NodePool();
afterEach(() => pool.stopAll());
const newNode = nodeMaker(pool);


/** What an application fixture saw: its callbacks, in order, and its top supervisors. */
interface AppLog {
  events: string[];
  tops: Pid[];
}

function newLog(): AppLog {
  return { events: [], tops: [] };
}

/** An application whose top supervisor runs one idle worker; logs `start:<name>` and `stop:<name>`. */
function app(name: string, log: AppLog = newLog(), extra: Partial<ApplicationSpec> = {}): ApplicationSpec {
  return {
    name,
    version: '1.0.0',
    description: `the ${name} application`,
    mod: {
      start: async (_type, _args, self) => {
        log.events.push(`start:${name}`);
        const r = await supervisor.startLink(self, oneWorkerSup, undefined);
        if (typeof r === 'object' && 'ok' in r) log.tops.push(r.ok);
        return r;
      },
      stop: () => {
        log.events.push(`stop:${name}`);
      },
    },
    ...extra,
  };
}

/** An application whose `start` returns `{ error: reason }`. */
function failingApp(name: string, reason: unknown, extra: Partial<ApplicationSpec> = {}): ApplicationSpec {
  return { name, mod: { start: () => ({ error: reason }) }, ...extra };
}

describe('load and unload', () => {
  it('loads an application once and reports alreadyLoaded for a second load', () => {
    const node = newNode();
    expect(node.application.load(app('a'))).toBe('ok');
    expect(node.application.load(app('a'))).toEqual({ error: { alreadyLoaded: 'a' } });
    expect(node.application.loadedApplications()).toEqual([{ name: 'a', description: 'the a application', version: '1.0.0' }]);
  });

  it('refuses to unload an application that is not loaded', () => {
    const node = newNode();
    expect(node.application.unload('ghost')).toEqual({ error: { notLoaded: 'ghost' } });
  });

  it('refuses to unload a running application and unloads it once stopped', async () => {
    const node = newNode();
    node.application.load(app('a'));
    expect(await node.application.start('a')).toBe('ok');
    expect(node.application.unload('a')).toEqual({ error: { running: 'a' } });
    expect(node.application.loadedApplications().map((i) => i.name)).toEqual(['a']);
    expect(await node.application.stop('a')).toBe('ok');
    expect(node.application.unload('a')).toBe('ok');
    expect(node.application.loadedApplications()).toEqual([]);
    expect(await node.application.start('a')).toEqual({ error: { notLoaded: 'a' } });
  });

  it('throws a RigilError with code ERR_BADARG for a malformed spec', () => {
    const node = newNode();
    const bad: unknown[] = [
      null,
      'a',
      { name: '' },
      { name: 'x', applications: 'y' },
      { name: 'x', env: [1, 2] },
      { name: 'x', startPhases: 'init' },
      { name: 'x', startPhases: [{ args: 1 }] },
      { name: 'x', mod: {} },
      { name: 'x', maxT: -1 },
    ];
    for (const spec of bad) {
      let thrown: unknown;
      try {
        node.application.load(spec as ApplicationSpec);
      } catch (e) {
        thrown = e;
      }
      expect(thrown, JSON.stringify(spec)).toBeInstanceOf(RigilError);
      expect((thrown as RigilError).code).toBe('ERR_BADARG');
    }
    expect(node.application.loadedApplications()).toEqual([]);
  });

  it('drops the environment of an unloaded application', () => {
    const node = newNode();
    node.application.load(app('a', newLog(), { env: { k: 1 } }));
    expect(node.application.getEnv('a', 'k')).toBe(1);
    expect(node.application.unload('a')).toBe('ok');
    expect(node.application.getEnv('a', 'k')).toBeUndefined();
  });
});

describe('start', () => {
  it('starts an application as temporary by default and returns ok', async () => {
    const node = newNode();
    const log = newLog();
    node.application.load(app('a', log));
    expect(await node.application.start('a')).toBe('ok');
    expect(log.events).toEqual(['start:a']);
    expect(node.application.restartTypeOf('a')).toBe('temporary');
    expect(node.application.isStarted('a')).toBe(true);
    expect(node.application.whereRunning('a')).toBe('local');
    expect(node.isAlive(log.tops[0]!)).toBe(true);
  });

  it('loads an application given as a spec before starting it', async () => {
    const node = newNode();
    expect(await node.application.start(app('a'), 'transient')).toBe('ok');
    expect(node.application.loadedApplications().map((i) => i.name)).toEqual(['a']);
    expect(node.application.restartTypeOf('a')).toBe('transient');
  });

  it('refuses to start an application that is not loaded', async () => {
    const node = newNode();
    expect(await node.application.start('ghost')).toEqual({ error: { notLoaded: 'ghost' } });
  });

  it('refuses an invalid restart type', async () => {
    const node = newNode();
    const log = newLog();
    node.application.load(app('a', log));
    expect(await node.application.start('a', 'sometimes' as never)).toEqual({ error: { invalidRestartType: 'sometimes' } });
    expect(log.events).toEqual([]);
  });

  it('refuses to start an application whose dependency has not been started', async () => {
    const node = newNode();
    const log = newLog();
    node.application.load(app('dep', log));
    node.application.load(app('a', log, { applications: ['dep'] }));
    expect(await node.application.start('a')).toEqual({ error: { notStarted: 'dep' } });
    expect(log.events).toEqual([]);
    expect(await node.application.start('dep')).toBe('ok');
    expect(await node.application.start('a')).toBe('ok');
    expect(log.events).toEqual(['start:dep', 'start:a']);
  });

  it('reports alreadyStarted for a second start of a running application', async () => {
    const node = newNode();
    const log = newLog();
    node.application.load(app('a', log));
    expect(await node.application.start('a')).toBe('ok');
    expect(await node.application.start('a', 'permanent')).toEqual({ error: { alreadyStarted: 'a' } });
    expect(log.events).toEqual(['start:a']);
    expect(node.application.restartTypeOf('a')).toBe('temporary');
  });

  it('does not list an application in whichApplications while it is still starting', async () => {
    const node = newNode();
    let seenDuringStart: string[] | undefined;
    node.application.load({
      name: 'a',
      mod: {
        start: (_t, _a, self) => {
          seenDuringStart = node.application.whichApplications().map((i) => i.name);
          return supervisor.startLink(self, oneWorkerSup, undefined);
        },
      },
    });
    expect(await node.application.start('a')).toBe('ok');
    expect(seenDuringStart).toEqual([]);
    expect(node.application.whichApplications().map((i) => i.name)).toEqual(['a']);
  });

  it('starts a library application (no mod) without any process', async () => {
    const node = newNode();
    const before = node.processCount;
    expect(await node.application.start({ name: 'lib', env: { k: 1 } })).toBe('ok');
    expect(node.processCount).toBe(before);
    expect(node.application.isStarted('lib')).toBe(true);
    expect(node.application.getEnv('lib', 'k')).toBe(1);
    expect(await node.application.stop('lib')).toBe('ok');
    expect(node.application.isStarted('lib')).toBe(false);
  });

  // Scenario 31: ensure_started / ensure_all_started
  it('ensureStarted is ok twice while start then reports alreadyStarted, and dependencies are checked', async () => {
    const node = newNode();
    const log = newLog();
    node.application.load(app('app1', log));
    expect(await node.application.ensureStarted('app1')).toBe('ok');
    expect(await node.application.ensureStarted('app1')).toBe('ok');
    expect(log.events).toEqual(['start:app1']);
    expect(await node.application.start('app1')).toEqual({ error: { alreadyStarted: 'app1' } });
    expect(await node.application.ensureStarted('nosuchapp')).toEqual({ error: { notLoaded: 'nosuchapp' } });

    node.application.load(app('app9', log));
    node.application.load(app('app10', log, { applications: ['app9'] }));
    expect(await node.application.start('app10')).toEqual({ error: { notStarted: 'app9' } });
    expect(await node.application.ensureAllStarted('app10')).toEqual({ ok: ['app9', 'app10'] });
    expect(await node.application.ensureAllStarted('app10')).toEqual({ ok: [] });
    expect(node.application.whichApplications().map((i) => i.name)).toEqual(['app10', 'app9', 'app1']);
  });

  it('ensureAllStarted starts only the missing dependencies, depth-first, in start order', async () => {
    const node = newNode();
    const log = newLog();
    node.application.load(app('d', log));
    node.application.load(app('b', log, { applications: ['d'] }));
    node.application.load(app('c', log, { applications: ['d'] }));
    node.application.load(app('e', log));
    node.application.load(app('top', log, { applications: ['b', 'e', 'c'] }));
    expect(await node.application.start('e')).toBe('ok');
    expect(await node.application.ensureAllStarted('top', 'transient')).toEqual({ ok: ['d', 'b', 'c', 'top'] });
    expect(log.events).toEqual(['start:e', 'start:d', 'start:b', 'start:c', 'start:top']);
    expect(node.application.restartTypeOf('top')).toBe('transient');
    expect(node.application.restartTypeOf('d')).toBe('transient');
    expect(node.application.restartTypeOf('e')).toBe('temporary');
  });

  // Scenario 31: failing deep dependency in ensure_all_started
  it('ensureAllStarted stops what it started when a deep dependency fails, leaving earlier apps running', async () => {
    const node = newNode();
    const log = newLog();
    node.application.load(app('app9', log));
    node.application.load(app('fresh', log));
    node.application.load(failingApp('broken', 'boom'));
    node.application.load(app('mid', log, { applications: ['broken'] }));
    node.application.load(app('top', log, { applications: ['app9', 'fresh', 'mid'] }));
    expect(await node.application.start('app9')).toBe('ok');

    const r = await node.application.ensureAllStarted('top');
    expect(r).toMatchObject({ error: ['broken', { reason: 'boom' }] });
    expect(log.events).toEqual(['start:app9', 'start:fresh', 'stop:fresh']);
    expect(node.application.isStarted('fresh')).toBe(false);
    expect(node.application.isStarted('mid')).toBe(false);
    expect(node.application.isStarted('top')).toBe(false);
    expect(node.application.whichApplications().map((i) => i.name)).toEqual(['app9']);
    expect(node.isAlive(log.tops[0]!)).toBe(true);
    expect(node.isAlive(log.tops[1]!)).toBe(false);
  });

  it('ensureAllStarted reports a dependency that is not loaded', async () => {
    const node = newNode();
    node.application.load(app('top', newLog(), { applications: ['missing'] }));
    expect(await node.application.ensureAllStarted('top')).toEqual({ error: ['missing', { notLoaded: 'missing' }] });
    expect(node.application.isStarted('top')).toBe(false);
  });

  // Scenario 33: not_started vs not_running
  it('reports notStarted for a dependency never started and notRunning for one whose tree died', async () => {
    const node = newNode();
    const log = newLog();
    node.application.load(app('app9', log));
    node.application.load(app('app10', log, { applications: ['app9'] }));
    expect(await node.application.start('app10')).toEqual({ error: { notStarted: 'app9' } });
    expect(await node.application.start('app9')).toBe('ok');
    node.exit(log.tops[0]!, 'kill');
    await waitFor(() => node.application.whereRunning('app9') === undefined, 2000, 'app9 to die');
    expect(node.stopped).toBe(false);
    expect(node.application.isStarted('app9')).toBe(true);
    expect(await node.application.start('app10')).toEqual({ error: { notRunning: 'app9' } });
    expect(log.events).toEqual(['start:app9', 'stop:app9']);
  });
});

describe('stop', () => {
  it('reports notStarted for an application that was never started', async () => {
    const node = newNode();
    node.application.load(app('a'));
    expect(await node.application.stop('a')).toEqual({ error: { notStarted: 'a' } });
    expect(await node.application.stop('ghost')).toEqual({ error: { notStarted: 'ghost' } });
  });

  it('removes the application from the started list so that a later start is a fresh start', async () => {
    const node = newNode();
    const log = newLog();
    node.application.load(app('a', log));
    expect(await node.application.start('a')).toBe('ok');
    expect(await node.application.stop('a')).toBe('ok');
    expect(node.isAlive(log.tops[0]!)).toBe(false);
    expect(node.application.isStarted('a')).toBe(false);
    expect(node.application.whichApplications()).toEqual([]);
    expect(await node.application.stop('a')).toEqual({ error: { notStarted: 'a' } });
    expect(await node.application.start('a')).toBe('ok');
    expect(log.events).toEqual(['start:a', 'stop:a', 'start:a']);
    expect(log.tops[1]).not.toBe(log.tops[0]);
    expect(node.isAlive(log.tops[1]!)).toBe(true);
  });

  it('stops an application that was started but whose tree has died', async () => {
    const node = newNode();
    const log = newLog();
    node.application.load(app('a', log));
    expect(await node.application.start('a')).toBe('ok');
    node.exit(log.tops[0]!, 'kill');
    await waitFor(() => node.application.whereRunning('a') === undefined, 2000, 'a to die');
    expect(await node.application.stop('a')).toBe('ok');
    expect(node.application.isStarted('a')).toBe(false);
  });
});

describe('queries', () => {
  it('lists running applications (most recent first) apart from the loaded ones', async () => {
    const node = newNode();
    node.application.load(app('a'));
    node.application.load(app('b'));
    node.application.load(app('c'));
    expect(await node.application.start('a')).toBe('ok');
    expect(await node.application.start('c')).toBe('ok');
    expect(node.application.whichApplications()).toEqual([
      { name: 'c', description: 'the c application', version: '1.0.0' },
      { name: 'a', description: 'the a application', version: '1.0.0' },
    ]);
    expect(node.application.loadedApplications().map((i) => i.name).sort()).toEqual(['a', 'b', 'c']);
    expect(await node.application.stop('a')).toBe('ok');
    expect(node.application.whichApplications().map((i) => i.name)).toEqual(['c']);
    expect(node.application.loadedApplications().map((i) => i.name).sort()).toEqual(['a', 'b', 'c']);
  });

  // Scenario 38: keys and env
  it('returns spec keys by name, from outside and from inside the application', async () => {
    const node = newNode();
    const phases = [
      { name: 'init', args: ['kalle'] },
      { name: 'takeover', args: [] },
      { name: 'go', args: ['sune'] },
    ];
    let inside: { app: string | undefined; phases: unknown; version: unknown } | undefined;
    const w: GenServerBehaviour<undefined> = {
      init: (_a, self) => {
        const name = node.application.getApplication(self);
        inside = {
          app: name,
          phases: name === undefined ? undefined : node.application.getKey(name, 'startPhases'),
          version: name === undefined ? undefined : node.application.getKey(name, 'version'),
        };
        return { ok: undefined };
      },
    };
    const sup: SupervisorBehaviour = { init: () => ({ flags: {}, children: [supervisor.worker('w', w, undefined)] }) };
    node.application.load({
      name: 'appinc',
      version: '2.1',
      startPhases: phases,
      mod: { start: (_t, _a, self) => supervisor.startLink(self, sup, undefined), startPhase: () => 'ok' },
    });
    expect(node.application.getKey('appinc', 'startPhases')).toEqual(phases);
    expect(node.application.getKey('appinc', 'maxT')).toBeUndefined();
    expect(node.application.getKey('appinc', 'applications')).toBeUndefined();
    expect(node.application.getKey('nosuchapp', 'version')).toBeUndefined();
    expect(await node.application.start('appinc')).toBe('ok');
    expect(inside).toEqual({ app: 'appinc', phases, version: '2.1' });
    expect(node.application.getEnv('kernel', 'missing')).toBeUndefined();
    expect(node.application.getEnv('kernel', 'missing', 'default')).toBe('default');
  });
});

describe('environment', () => {
  it('starts from the spec defaults', () => {
    const node = newNode();
    node.application.load(app('a', newLog(), { env: { port: 8080, host: 'h' } }));
    expect(node.application.getEnv('a', 'port')).toBe(8080);
    expect(node.application.getEnv('a', 'missing', 7)).toBe(7);
    expect(node.application.getAllEnv('a')).toEqual({ port: 8080, host: 'h' });
  });

  it('lets configure() override spec defaults, before and after load', () => {
    const node = newNode();
    node.application.configure({ a: { port: 1 } });
    node.application.load(app('a', newLog(), { env: { port: 8080, host: 'h' } }));
    expect(node.application.getAllEnv('a')).toEqual({ port: 1, host: 'h' });
    node.application.configure({ a: { host: 'other' } });
    expect(node.application.getAllEnv('a')).toEqual({ port: 1, host: 'other' });
  });

  it('setEnv works for an application that is not loaded', () => {
    const node = newNode();
    node.application.setEnv('notloaded', 'k', 42);
    expect(node.application.getEnv('notloaded', 'k')).toBe(42);
    expect(node.application.getAllEnv('notloaded')).toEqual({ k: 42 });
  });

  it('lets a later load overwrite a non-persistent setEnv but not a persistent one', () => {
    const node = newNode();
    node.application.setEnv('a', 'plain', 'set');
    node.application.setEnv('a', 'kept', 'set', { persistent: true });
    node.application.load(app('a', newLog(), { env: { plain: 'spec', kept: 'spec' } }));
    expect(node.application.getEnv('a', 'plain')).toBe('spec');
    expect(node.application.getEnv('a', 'kept')).toBe('set');
    expect(node.application.unload('a')).toBe('ok');
    node.application.load(app('a', newLog(), { env: { plain: 'spec', kept: 'spec' } }));
    expect(node.application.getEnv('a', 'kept')).toBe('set');
  });

  it('keeps a value set before load for a key the spec does not define', () => {
    const node = newNode();
    node.application.setEnv('a', 'extra', 'set');
    node.application.load(app('a', newLog(), { env: { plain: 'spec' } }));
    expect(node.application.getEnv('a', 'plain')).toBe('spec');
    expect(node.application.getEnv('a', 'extra')).toBe('set');
  });

  it('setEnv after load overrides a spec value', () => {
    const node = newNode();
    node.application.load(app('a', newLog(), { env: { k: 1 } }));
    node.application.setEnv('a', 'k', 2);
    expect(node.application.getEnv('a', 'k')).toBe(2);
  });

  it('unsetEnv removes a value; a persistent unset before load leaves the spec’s values to the load', () => {
    const node = newNode();
    node.application.load(app('a', newLog(), { env: { k: 1, j: 2 } }));
    node.application.unsetEnv('a', 'k');
    expect(node.application.getEnv('a', 'k')).toBeUndefined();
    expect(node.application.getEnv('a', 'k', 'def')).toBe('def');
    expect(node.application.getAllEnv('a')).toEqual({ j: 2 });

    // OTP's unset_env(…, [{persistent, true}]) only forgets a persistent value; it leaves no
    // tombstone, so the spec's value is what a load gives (application_controller's
    // handle_call({unset_env, …}) deletes the key from conf_data).
    node.application.unsetEnv('b', 'k', { persistent: true });
    node.application.load(app('b', newLog(), { env: { k: 1, j: 2 } }));
    expect(node.application.getEnv('b', 'k')).toBe(1);
    expect(node.application.getEnv('b', 'j')).toBe(2);
  });

  // OTP's application_SUITE:persistent_env, step by step (appinc's env is
  // [{own_env1, value1}, {own2, val2}]).
  it('persistent_env: persistent values survive reloads, and a persistent unset gives the spec’s value back on reload', () => {
    const node = newNode();
    const appinc = (): ApplicationSpec => app('appinc', newLog(), { env: { own_env1: 'value1', own2: 'val2' } });
    node.application.setEnv('appinc', 'own2', 'persist', { persistent: true });
    node.application.setEnv('appinc', 'key1', 'persist', { persistent: true });

    // own_env1 and own2 are set in appinc
    expect(node.application.load(appinc())).toBe('ok');
    expect(node.application.getEnv('appinc', 'own_env1')).toBe('value1');
    expect(node.application.getEnv('appinc', 'own2')).toBe('persist');
    expect(node.application.getEnv('appinc', 'key1')).toBe('persist');

    // Changing the environment after load shows at once and persists
    node.application.setEnv('appinc', 'own_env1', 'persist', { persistent: true });
    expect(node.application.getEnv('appinc', 'own_env1')).toBe('persist');
    expect(node.application.getEnv('appinc', 'own2')).toBe('persist');
    expect(node.application.getEnv('appinc', 'key1')).toBe('persist');

    // On reload, own_env1, own2 and key1 all persist
    expect(node.application.unload('appinc')).toBe('ok');
    expect(node.application.load(appinc())).toBe('ok');
    expect(node.application.getEnv('appinc', 'own_env1')).toBe('persist');
    expect(node.application.getEnv('appinc', 'own2')).toBe('persist');
    expect(node.application.getEnv('appinc', 'key1')).toBe('persist');

    // Unset own_env1 and key1; own2 still persists
    node.application.unsetEnv('appinc', 'own_env1', { persistent: true });
    node.application.unsetEnv('appinc', 'key1', { persistent: true });
    expect(node.application.getEnv('appinc', 'own_env1')).toBeUndefined();
    expect(node.application.getEnv('appinc', 'own2')).toBe('persist');
    expect(node.application.getEnv('appinc', 'key1')).toBeUndefined();

    // own_env1 is back to its spec value on reload; key1 (in no spec) stays unset
    expect(node.application.unload('appinc')).toBe('ok');
    expect(node.application.load(appinc())).toBe('ok');
    expect(node.application.getEnv('appinc', 'own_env1')).toBe('value1');
    expect(node.application.getEnv('appinc', 'own2')).toBe('persist');
    expect(node.application.getEnv('appinc', 'key1')).toBeUndefined();

    expect(node.application.unload('appinc')).toBe('ok');
  });

  it('a persistent unset also forgets the node configuration’s value for that key, as OTP keeps both in one place', () => {
    const node = newNode();
    node.application.configure({ a: { k: 'config', j: 'config' } });
    node.application.load(app('a', newLog(), { env: { k: 'spec', j: 'spec' } }));
    expect(node.application.getEnv('a', 'k')).toBe('config');
    node.application.unsetEnv('a', 'k', { persistent: true });
    expect(node.application.getEnv('a', 'k')).toBeUndefined();
    expect(node.application.unload('a')).toBe('ok');
    node.application.load(app('a', newLog(), { env: { k: 'spec', j: 'spec' } }));
    expect(node.application.getEnv('a', 'k')).toBe('spec');
    expect(node.application.getEnv('a', 'j')).toBe('config');
  });

  it('getEnv(self, key) reads the environment of the calling process’s application', async () => {
    const node = newNode();
    let seen: unknown[] | undefined;
    const w: GenServerBehaviour<undefined> = {
      init: (_a, self) => {
        seen = [node.application.getEnv(self, 'port'), node.application.getEnv(self, 'missing', 'def'), node.application.getAllEnv(self)];
        return { ok: undefined };
      },
    };
    const sup: SupervisorBehaviour = { init: () => ({ flags: {}, children: [supervisor.worker('w', w, undefined)] }) };
    node.application.configure({ a: { port: 9 } });
    node.application.load({ name: 'a', env: { port: 1, host: 'h' }, mod: { start: (_t, _a, self) => supervisor.startLink(self, sup, undefined) } });
    expect(await node.application.start('a')).toBe('ok');
    expect(seen).toEqual([9, 'def', { port: 9, host: 'h' }]);
    const outside = await runIn(node, (self) => [node.application.getEnv(self, 'port'), node.application.getEnv(self, 'port', 'def')]);
    expect(outside).toEqual([undefined, 'def']);
  });
});

describe('takeover and permit of local applications', () => {
  it('takeover of a local application is notRunningDistributed, or alreadyRunningLocally while it runs here', async () => {
    const node = newNode();
    node.application.load(app('a'));
    expect(await node.application.takeover('a')).toEqual({ error: { notRunningDistributed: 'a' } });
    expect(await node.application.start('a')).toBe('ok');
    expect(await node.application.takeover('a')).toEqual({ error: { alreadyRunningLocally: 'a' } });
    expect(node.application.whereRunning('a')).toBe('local');
  });

  it('permit(false) stops a running application but keeps it started, and permit(true) starts it again', async () => {
    const node = newNode();
    const log = newLog();
    node.application.load(app('a', log));
    expect(await node.application.start('a', 'permanent')).toBe('ok');
    expect(await node.application.permit('a', false)).toBe('ok');
    expect(log.events).toEqual(['start:a', 'stop:a']);
    expect(node.isAlive(log.tops[0]!)).toBe(false);
    expect(node.application.isStarted('a')).toBe(true);
    expect(node.application.whichApplications()).toEqual([]);
    expect(node.stopped).toBe(false);

    expect(await node.application.permit('a', true)).toBe('ok');
    expect(log.events).toEqual(['start:a', 'stop:a', 'start:a']);
    expect(node.application.whereRunning('a')).toBe('local');
    expect(node.isAlive(log.tops[1]!)).toBe(true);
    expect(node.application.restartTypeOf('a')).toBe('permanent');
  });

  it('records a start of a forbidden application without running it until it is permitted', async () => {
    const node = newNode();
    const log = newLog();
    node.application.load(app('a', log));
    node.application.setPermission('a', false);
    expect(await node.application.start('a')).toBe('ok');
    expect(log.events).toEqual([]);
    expect(node.application.isStarted('a')).toBe(true);
    expect(node.application.whereRunning('a')).toBeUndefined();
    expect(await node.application.permit('a', true)).toBe('ok');
    expect(log.events).toEqual(['start:a']);
    expect(node.application.whereRunning('a')).toBe('local');
  });

  it('permit with a non-boolean flag throws ERR_BADARG', async () => {
    const node = newNode();
    node.application.load(app('a'));
    await expect(async () => node.application.permit('a', 'yes' as never)).rejects.toMatchObject({ name: 'RigilError', code: 'ERR_BADARG' });
    expect(node.application.isPermitted('a')).toBe(true);
  });

  it('permit of an application that is not loaded reports notLoaded', async () => {
    const node = newNode();
    expect(await node.application.permit('ghost', true)).toEqual({ error: { notLoaded: 'ghost' } });
  });
});

describe('getApplication', () => {
  it('names the application of a process, and nothing for processes outside any application', async () => {
    const node = newNode();
    const log = newLog();
    node.application.load(app('a', log));
    expect(await node.application.start('a')).toBe('ok');
    const top = log.tops[0]!;
    const [child] = await supervisor.whichChildren(node, top);
    expect(node.application.getApplication(top)).toBe('a');
    expect(node.application.getApplication(child!.pid as Pid)).toBe('a');
    const outsider = await genServer.start(node, idle, undefined);
    expect(node.application.getApplication((outsider as { ok: Pid }).ok)).toBeUndefined();
    expect(await node.application.stop('a')).toBe('ok');
    expect(node.application.getApplication(top)).toBeUndefined();
  });
});
