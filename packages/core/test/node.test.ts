/**
 * A node of @rigil/core: the registry, send, pid and ref values, timers, several nodes in
 * one OS process, stop(), fairness of the scheduler and long link chains
 * (spec §a.1, §a.7; conformance scenarios A.3, A.5).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Node,
  Pid,
  Ref,
  RigilError,
  TIMEOUT,
  isDown,
  isPid,
  isRef,
  type DownMessage,
  type ExitMessage,
  type Process,
} from '../src/index.js';
import { NodePool, spawnRecorder, waitFor, watchDown } from './helpers.js';

const nodes = new NodePool();
afterEach(() => nodes.stopAll());

/** The code of the RigilError `fn` throws (fails the test when it does not throw one). */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RigilError);
    return (e as RigilError).code;
  }
  throw new Error('expected the call to throw');
}

/** A process that waits forever. */
function idle(node: Node): Pid {
  return node.spawn(async (self) => {
    await self.receive((m) => m === 'never-sent');
  });
}

// ---------------------------------------------------------------- registry

describe('registry', () => {
  // Scenario 3 — name released before DOWN
  it('a process monitoring the holder of a name can register that name as soon as it receives the DOWN', async () => {
    const { node } = nodes.simulated();
    const p = node.spawn(async (self) => {
      await self.receive((m) => m === 'die');
      self.exit('bye');
    });
    node.register('n', p);
    let outcome: unknown;
    const q = node.spawn(async (self) => {
      const ref = self.monitor(p);
      self.send('n', 'die');
      const down = await self.receive((m): m is DownMessage => isDown(m, ref));
      try {
        outcome = { reason: down.reason, registered: self.node.register('n', self.pid) };
      } catch (e) {
        outcome = e;
      }
      await self.receive();
    });
    await waitFor(() => outcome !== undefined);
    expect(outcome).toEqual({ reason: 'bye', registered: true });
    expect(node.whereis('n')).toBe(q);
  });

  // Scenario 3 — name released before DOWN
  it('the name of a dead process is already free when a monitor handler runs and when a linked trapping process gets EXIT', async () => {
    const { node } = nodes.simulated();
    const p = node.spawn(async (self) => {
      await self.receive((m) => m === 'die');
      self.exit('bye');
    });
    node.register('n', p);
    let seenByHandler: Pid | undefined | 'not-called' = 'not-called';
    node.monitor(p, { onDown: () => (seenByHandler = node.whereis('n')) });
    let outcome: unknown;
    const q = node.spawn(async (self) => {
      self.link(p);
      self.send(p, 'die');
      const exit = (await self.receive((m) => (m as ExitMessage).tag === 'EXIT')) as ExitMessage;
      try {
        outcome = { reason: exit.reason, registered: self.node.register('n', self.pid) };
      } catch (e) {
        outcome = e;
      }
      await self.receive();
    }, { trapExit: true });
    await waitFor(() => outcome !== undefined);
    expect(seenByHandler).toBeUndefined();
    expect(outcome).toEqual({ reason: 'bye', registered: true });
    expect(node.whereis('n')).toBe(q);
  });

  it('register, whereis, registered and unregister follow OTP', () => {
    const { node } = nodes.simulated();
    const a = idle(node);
    const b = idle(node);
    expect(node.register('alpha', a)).toBe(true);
    expect(node.register('beta', b)).toBe(true);
    expect(node.whereis('alpha')).toBe(a);
    expect(node.whereis('beta')).toBe(b);
    expect(node.whereis('gamma')).toBeUndefined();
    expect(node.registered().sort()).toEqual(['alpha', 'beta']);
    expect(node.processInfo(a)?.registeredName).toBe('alpha');
    expect(node.unregister('alpha')).toBe(true);
    expect(node.whereis('alpha')).toBeUndefined();
    expect(node.registered()).toEqual(['beta']);
    expect(node.processInfo(a)?.registeredName).toBeUndefined();
    expect(node.register('alpha2', a)).toBe(true);
    expect(node.whereis('alpha2')).toBe(a);
  });

  it('registering a name another process holds fails with ERR_NAME_TAKEN and changes nothing', () => {
    const { node } = nodes.simulated();
    const a = idle(node);
    const b = idle(node);
    node.register('n', a);
    expect(codeOf(() => node.register('n', b))).toBe('ERR_NAME_TAKEN');
    expect(node.whereis('n')).toBe(a);
    expect(node.processInfo(b)?.registeredName).toBeUndefined();
  });

  it('registering a process that already has a name fails with ERR_ALREADY_NAMED', () => {
    const { node } = nodes.simulated();
    const a = idle(node);
    node.register('first', a);
    expect(codeOf(() => node.register('second', a))).toBe('ERR_ALREADY_NAMED');
    expect(node.whereis('second')).toBeUndefined();
    expect(node.whereis('first')).toBe(a);
  });

  it('registering a dead pid fails with ERR_NOPROC', async () => {
    const { node } = nodes.simulated();
    const dead = node.spawn(() => undefined);
    await waitFor(() => !node.isAlive(dead));
    expect(codeOf(() => node.register('ghost', dead))).toBe('ERR_NOPROC');
    expect(node.whereis('ghost')).toBeUndefined();
  });

  it('unregistering an unknown name fails with ERR_NOT_REGISTERED', () => {
    const { node } = nodes.simulated();
    expect(codeOf(() => node.unregister('unknown'))).toBe('ERR_NOT_REGISTERED');
  });

  it('an empty name is rejected with ERR_BADARG and a pid of another node with ERR_NOT_LOCAL', () => {
    const { node } = nodes.simulated();
    const a = idle(node);
    expect(codeOf(() => node.register('', a))).toBe('ERR_BADARG');
    expect(codeOf(() => node.register('far', new Pid('b@host', 1, 1)))).toBe('ERR_NOT_LOCAL');
  });

  it('a name is removed when its process dies', async () => {
    const { node } = nodes.simulated();
    const a = node.spawn(async (self) => {
      await self.receive();
    });
    node.register('short-lived', a);
    node.send('short-lived', 'go');
    await waitFor(() => !node.isAlive(a));
    expect(node.whereis('short-lived')).toBeUndefined();
    expect(node.registered()).toEqual([]);
  });
});

// ---------------------------------------------------------------- send

describe('send', () => {
  // Scenario 5 — per-pair ordering
  it('messages from one sender arrive in send order, whatever other senders interleave', async () => {
    const { node } = nodes.simulated();
    const b = spawnRecorder(node);
    const N = 500;
    const sender = (tag: string) =>
      node.spawn(async (self) => {
        await self.receive((m) => m === 'go');
        for (let i = 0; i < N; i++) {
          self.send(b.pid, { from: tag, i });
          if (i % 7 === 0) await Promise.resolve();
        }
      });
    const a = sender('A');
    const c = sender('C');
    node.send(a, 'go');
    node.send(c, 'go');
    await waitFor(() => b.got.length === 2 * N);
    const seq = (tag: string) => (b.got as Array<{ from: string; i: number }>).filter((m) => m.from === tag).map((m) => m.i);
    const expected = Array.from({ length: N }, (_, i) => i);
    expect(seq('A')).toEqual(expected);
    expect(seq('C')).toEqual(expected);
  });

  // Scenario 5 — per-pair ordering
  it('sending to an unregistered local name throws ERR_NOT_REGISTERED', () => {
    const { node } = nodes.simulated();
    expect(codeOf(() => node.send('nobody', 'hello'))).toBe('ERR_NOT_REGISTERED');
  });

  // Scenario 5 — per-pair ordering
  it('sending to [name, node] never throws, for this node or another, when the name is not registered', () => {
    const { node } = nodes.simulated();
    expect(() => node.send(['nope', node.name], 'x')).not.toThrow();
    expect(() => node.send(['nope', 'other@host'], 'x')).not.toThrow();
  });

  it('sending to [name, this node] delivers to the holder of the name', async () => {
    const { node } = nodes.simulated();
    const r = spawnRecorder(node);
    node.register('rec', r.pid);
    node.send(['rec', node.name], 'via-tuple');
    node.send('rec', 'via-name');
    await waitFor(() => r.got.length === 2);
    expect(r.got).toEqual(['via-tuple', 'via-name']);
  });

  it('sending to a dead pid is silently dropped', async () => {
    const { node } = nodes.simulated();
    const dead = node.spawn(() => undefined);
    await waitFor(() => !node.isAlive(dead));
    expect(() => node.send(dead, 'x')).not.toThrow();
  });
});

// ---------------------------------------------------------------- pids and refs

describe('Pid and Ref values', () => {
  it('a pid prints as <node.id.creation>', () => {
    expect(new Pid('a@host', 42, 1).toString()).toBe('<a@host.42.1>');
    expect(String(new Pid('a@host', 42, 1))).toBe('<a@host.42.1>');
    expect(JSON.stringify({ p: new Pid('a@host', 42, 1) })).toBe('{"p":"<a@host.42.1>"}');
  });

  it('a spawned pid prints with its node name, its id and the node creation', () => {
    const node = nodes.add(new Node({ name: 'a@host', creation: 7 }));
    const pid = idle(node);
    expect(pid.node).toBe('a@host');
    expect(pid.creation).toBe(7);
    expect(pid.toString()).toBe(`<a@host.${pid.id}.7>`);
    expect(isPid(pid)).toBe(true);
    expect(isPid(pid.toString())).toBe(false);
  });

  it('pids are equal by value: same node, id and creation', () => {
    const p = new Pid('a@host', 42, 1);
    expect(p.equals(new Pid('a@host', 42, 1))).toBe(true);
    expect(p.equals(new Pid('a@host', 42, 2))).toBe(false);
    expect(p.equals(new Pid('a@host', 43, 1))).toBe(false);
    expect(p.equals(new Pid('b@host', 42, 1))).toBe(false);
    expect(p.equals('<a@host.42.1>')).toBe(false);
  });

  it('within a node a live process has one pid object, usable as a Map key wherever the pid shows up', async () => {
    const { node } = nodes.simulated();
    const watcher = spawnRecorder(node, { trapExit: true });
    const byPid = new Map<Pid, string>();
    const workers: Pid[] = [];
    for (let i = 0; i < 3; i++) {
      const w = node.spawn(async (self) => {
        self.link(watcher.pid);
        self.send(watcher.pid, { hello: self.pid });
        await self.receive();
        self.exit('done');
      });
      workers.push(w);
      byPid.set(w, `worker-${i}`);
    }
    await waitFor(() => watcher.got.length === 3);
    const hellos = watcher.got.map((m) => (m as { hello: Pid }).hello);
    expect(hellos.map((p) => byPid.get(p)).sort()).toEqual(['worker-0', 'worker-1', 'worker-2']);
    for (const w of workers) expect(node.internPid(w.node, w.id, w.creation)).toBe(w);
    for (const p of node.processes()) if (byPid.has(p)) expect(workers).toContain(p);
    const downs = workers.map((w) => watchDown(node, w));
    for (const w of workers) node.send(w, 'stop');
    await waitFor(() => watcher.got.length === 6 && downs.every((d) => d.down));
    const exits = watcher.got.slice(3) as ExitMessage[];
    expect(exits.map((e) => byPid.get(e.from)).sort()).toEqual(['worker-0', 'worker-1', 'worker-2']);
    expect(downs.map((d) => byPid.get(d.downs[0]!.object as Pid))).toEqual(['worker-0', 'worker-1', 'worker-2']);
  });

  it('a pid of a previous incarnation of a node is a different pid and is not alive on the new one', () => {
    const old = nodes.add(new Node({ name: 'a@host', creation: 1 }));
    const oldPid = idle(old);
    const reborn = nodes.add(new Node({ name: 'a@host', creation: 2 }));
    const newPid = idle(reborn);
    expect(oldPid.id).toBe(newPid.id);
    expect(oldPid.equals(newPid)).toBe(false);
    expect(oldPid.toString()).not.toBe(newPid.toString());
    expect(reborn.isAlive(oldPid)).toBe(false);
    expect(reborn.internPid(oldPid.node, oldPid.id, oldPid.creation)).not.toBe(newPid);
  });

  it('refs are unique, print as #Ref<node.id.creation> and compare by value', () => {
    const { node } = nodes.simulated('a@host', 3);
    const r1 = node.makeRef();
    const r2 = node.makeRef();
    expect(isRef(r1)).toBe(true);
    expect(isRef(new Pid('a@host', 1, 1))).toBe(false);
    expect(r1.equals(r2)).toBe(false);
    expect(r1.equals(new Ref(r1.node, r1.id, r1.creation))).toBe(true);
    expect(r1.equals(new Ref(r1.node, r1.id, r1.creation + 1))).toBe(false);
    expect(r1.toString()).toBe(`#Ref<a@host.${r1.id}.3>`);
    expect(JSON.stringify([r1])).toBe(`["#Ref<a@host.${r1.id}.3>"]`);
  });
});

// ---------------------------------------------------------------- timers

describe('timers', () => {
  it('sendAfter delivers the message when its time comes, not before', async () => {
    const { node, clock } = nodes.simulated();
    const r = spawnRecorder(node);
    node.sendAfter(100, r.pid, 'tick');
    await clock.advance(99);
    expect(r.got).toEqual([]);
    await clock.advance(1);
    await waitFor(() => r.got.length === 1);
    expect(r.got).toEqual(['tick']);
    expect(node.timers.size).toBe(0);
  });

  it('cancelTimer returns the milliseconds left and the message never arrives; a second cancel returns false', async () => {
    const { node, clock } = nodes.simulated();
    const r = spawnRecorder(node);
    const t = node.sendAfter(100, r.pid, 'tick');
    await clock.advance(40);
    expect(node.cancelTimer(t)).toBe(60);
    expect(node.cancelTimer(t)).toBe(false);
    await clock.advance(200);
    node.send(r.pid, 'marker');
    await waitFor(() => r.got.length === 1);
    expect(r.got).toEqual(['marker']);
  });

  it('cancelTimer of a timer that has fired returns false', async () => {
    const { node, clock } = nodes.simulated();
    const r = spawnRecorder(node);
    const t = node.sendAfter(10, r.pid, 'tick');
    await clock.advance(10);
    await waitFor(() => r.got.length === 1);
    expect(node.cancelTimer(t)).toBe(false);
  });

  it('timers with equal deadlines deliver in creation order, and earlier deadlines first', async () => {
    const { node, clock } = nodes.simulated();
    const r = spawnRecorder(node);
    node.sendAfter(20, r.pid, 'late');
    for (let i = 0; i < 10; i++) node.sendAfter(10, r.pid, i);
    node.sendAfter(5, r.pid, 'early');
    await clock.advance(20);
    await waitFor(() => r.got.length === 12);
    expect(r.got).toEqual(['early', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 'late']);
  });

  it('sendAfter to a name resolves the name when the timer fires, and a name nobody holds drops the message', async () => {
    const { node, clock } = nodes.simulated();
    node.sendAfter(10, 'later', 'to-later');
    expect(() => node.sendAfter(10, 'nobody', 'lost')).not.toThrow();
    const r = spawnRecorder(node);
    node.register('later', r.pid);
    await clock.advance(10);
    await waitFor(() => r.got.length === 1);
    expect(r.got).toEqual(['to-later']);
    expect(node.timers.size).toBe(0);
  });

  it('sendAfter with a negative delay is rejected with ERR_BADARG', () => {
    const { node } = nodes.simulated();
    expect(codeOf(() => node.sendAfter(-1, node.systemPid, 'x'))).toBe('ERR_BADARG');
  });

  it('a waiting receive with a timeout holds exactly one node timer until it returns', async () => {
    const { node, clock } = nodes.simulated();
    let got: unknown;
    node.spawn(async (self) => {
      got = await self.receive(undefined, 100);
    });
    await waitFor(() => node.timers.size === 1);
    await clock.advance(100);
    await waitFor(() => got !== undefined);
    expect(got).toBe(TIMEOUT);
    expect(node.timers.size).toBe(0);
  });
});

// ---------------------------------------------------------------- several nodes

describe('several nodes in one process', () => {
  it('have their own processes, registries and timers', async () => {
    const a = nodes.simulated('a@host');
    const b = nodes.simulated('b@host');
    const ra = spawnRecorder(a.node);
    const rb = spawnRecorder(b.node);
    a.node.register('svc', ra.pid);
    b.node.register('svc', rb.pid);
    expect(a.node.whereis('svc')).toBe(ra.pid);
    expect(b.node.whereis('svc')).toBe(rb.pid);
    expect(ra.pid.node).toBe('a@host');
    expect(rb.pid.node).toBe('b@host');
    expect(a.node.isAlive(rb.pid)).toBe(false);
    expect(a.node.processInfo(rb.pid)).toBeUndefined();
    a.node.sendAfter(10, 'svc', 'from-a');
    b.node.sendAfter(10, 'svc', 'from-b');
    await a.clock.advance(10);
    await waitFor(() => ra.got.length === 1);
    expect(rb.got).toEqual([]);
    expect(b.node.timers.size).toBe(1);
    await b.clock.advance(10);
    await waitFor(() => rb.got.length === 1);
    expect(ra.got).toEqual(['from-a']);
    expect(rb.got).toEqual(['from-b']);
  });

  it('a node without distribution drops messages to another node, and links and monitors to it fire noconnection', async () => {
    const a = nodes.simulated('a@host');
    const b = nodes.simulated('b@host');
    const rb = spawnRecorder(b.node);
    a.node.send(rb.pid, 'cross');
    const seen: unknown[] = [];
    a.node.spawn(async (self) => {
      const ref = self.monitor(rb.pid);
      seen.push(await self.receive((m) => isDown(m, ref), 0));
      self.link(rb.pid);
      seen.push(await self.receive(undefined, 0));
    }, { trapExit: true });
    await waitFor(() => seen.length === 2);
    expect(seen[0]).toMatchObject({ tag: 'DOWN', reason: 'noconnection' });
    expect((seen[0] as DownMessage).object).toBe(rb.pid);
    expect(seen[1]).toMatchObject({ tag: 'EXIT', reason: 'noconnection' });
    expect((seen[1] as ExitMessage).from).toBe(rb.pid);
    b.node.send(rb.pid, 'marker');
    await waitFor(() => rb.got.length === 1);
    expect(rb.got).toEqual(['marker']);
  });

  it('stopping one node leaves the other running', async () => {
    const a = nodes.simulated('a@host');
    const b = nodes.simulated('b@host');
    const pa = idle(a.node);
    const rb = spawnRecorder(b.node);
    await a.node.stop();
    expect(a.node.isAlive(pa)).toBe(false);
    expect(b.node.isAlive(rb.pid)).toBe(true);
    b.node.send(rb.pid, 'still-here');
    await waitFor(() => rb.got.length === 1);
    expect(rb.got).toEqual(['still-here']);
  });
});

// ---------------------------------------------------------------- stop

describe('node.stop()', () => {
  it('kills every process, frees every name and leaves no timers, so a pending receive timeout never fires', async () => {
    const { node, clock } = nodes.simulated();
    let timedOut = false;
    const waiter = node.spawn(async (self) => {
      if ((await self.receive((m) => m === 'never', 1000)) === TIMEOUT) timedOut = true;
    });
    const r = spawnRecorder(node);
    node.register('rec', r.pid);
    node.sendAfter(500, r.pid, 'too-late');
    await waitFor(() => node.processInfo(waiter)?.status === 'waiting');
    expect(node.timers.size).toBe(2);
    const downs = [watchDown(node, waiter), watchDown(node, r.pid)];
    await node.stop();
    expect(node.stopped).toBe(true);
    expect(node.processCount).toBe(0);
    expect(node.processes()).toEqual([]);
    expect(node.isAlive(waiter)).toBe(false);
    expect(node.registered()).toEqual([]);
    expect(downs.map((d) => d.reason)).toEqual(['killed', 'killed']);
    expect(node.timers.size).toBe(0);
    expect(clock.pending).toBe(0);
    await clock.advance(5000);
    expect(timedOut).toBe(false);
    expect(r.got).toEqual([]);
  });

  it('is idempotent and refuses new processes afterwards with ERR_NODE_STOPPED', async () => {
    const { node } = nodes.simulated();
    const first = node.stop();
    expect(node.stop()).toBe(first);
    await first;
    expect(codeOf(() => node.spawn(() => undefined))).toBe('ERR_NODE_STOPPED');
  });

  it('runs its stop hooks last-registered first, while processes are still alive', async () => {
    const { node } = nodes.simulated();
    const pid = idle(node);
    const calls: Array<[string, boolean]> = [];
    node.onStop(() => {
      calls.push(['first', node.isAlive(pid)]);
    });
    node.onStop(async () => {
      calls.push(['second', node.isAlive(pid)]);
    });
    await node.stop();
    expect(calls).toEqual([
      ['second', true],
      ['first', true],
    ]);
    expect(node.isAlive(pid)).toBe(false);
  });
});

// ---------------------------------------------------------------- scheduler fairness

describe('scheduler', () => {
  /** Starts two processes that ping-pong forever (up to a safety cap); returns the exchange counter. */
  function pingPong(node: Node, cap: number): { count: number; a: Pid; b: Pid } {
    const state = { count: 0, a: undefined as unknown as Pid, b: undefined as unknown as Pid };
    state.b = node.spawn(async (self) => {
      for (;;) {
        const from = (await self.receive()) as Pid;
        state.count++;
        if (state.count >= cap) return;
        self.send(from, self.pid);
      }
    });
    state.a = node.spawn(async (self) => {
      for (;;) {
        self.send(state.b, self.pid);
        await self.receive();
      }
    });
    return state;
  }

  it('two processes ping-ponging forever do not starve a setTimeout(0) callback', async () => {
    const { node } = nodes.simulated();
    const CAP = 5_000_000;
    const pp = pingPong(node, CAP);
    const atCallback = await new Promise<number>((resolve) => setTimeout(() => resolve(pp.count), 0));
    expect(atCallback).toBeGreaterThan(0);
    expect(atCallback).toBeLessThan(CAP);
    await waitFor(() => pp.count > atCallback + 1000, 5000, 'the ping-pong to go on');
    expect(node.isAlive(pp.a)).toBe(true);
    expect(node.isAlive(pp.b)).toBe(true);
  });

  it('two processes ping-ponging forever do not starve a setImmediate callback', async () => {
    const { node } = nodes.simulated();
    const CAP = 5_000_000;
    const pp = pingPong(node, CAP);
    const atCallback = await new Promise<number>((resolve) => setImmediate(() => resolve(pp.count)));
    expect(atCallback).toBeLessThan(CAP);
    await waitFor(() => pp.count > atCallback + 1000, 5000, 'the ping-pong to go on');
    expect(node.isAlive(pp.a)).toBe(true);
    expect(node.isAlive(pp.b)).toBe(true);
  });
});

// ---------------------------------------------------------------- long link chains

describe('long link chains', () => {
  it('killing the head of a chain of 20 000 linked processes kills them all without overflowing the stack', async () => {
    const { node } = nodes.simulated();
    const N = 20_000;
    let tail: Pid | undefined;
    const spawnNext = (left: number) => async (self: Process) => {
      if (left > 1) self.spawnLink(spawnNext(left - 1));
      else tail = self.pid;
      await self.receive((m) => m === 'never-sent');
    };
    const head = node.spawn(spawnNext(N));
    await waitFor(() => tail !== undefined && node.processCount === N, 20_000, 'the chain to be built');
    const tailWatch = watchDown(node, tail!);
    const headWatch = watchDown(node, head);
    node.exit(head, 'kill');
    expect(headWatch.reason).toBe('killed');
    await waitFor(() => tailWatch.down, 5000, 'the tail to die');
    expect(tailWatch.reason).toBe('killed');
    expect(node.processCount).toBe(0);
  });

  it('a chain of 20 000 processes exiting with a reason passes that reason down the whole chain', async () => {
    const { node } = nodes.simulated();
    const N = 20_000;
    const pids: Pid[] = [];
    let ready = 0;
    for (let i = 0; i < N; i++) {
      const prev = pids[i - 1];
      pids.push(
        node.spawn(async (self) => {
          if (prev !== undefined) self.link(prev);
          ready++;
          await self.receive((m) => m === 'never-sent');
        }),
      );
    }
    await waitFor(() => ready === N, 20_000, 'the chain to be linked');
    expect(node.processInfo(pids[N - 1]!)?.links).toEqual([pids[N - 2]]);
    const tail = watchDown(node, pids[N - 1]!);
    node.exit(pids[0]!, 'boom');
    await waitFor(() => tail.down, 5000, 'the tail to die');
    expect(tail.reason).toBe('boom');
    expect(pids.every((p) => !node.isAlive(p))).toBe(true);
  });
});
