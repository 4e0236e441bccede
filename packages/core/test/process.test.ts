/**
 * The process runtime of @rigil/core: spawning, selective receive, exit signals, links,
 * monitors, process_info, crashes and crash reports, and what happens to a killed process
 * whose code is still running (spec §a, conformance scenarios A.1, A.2, A.4).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  RigilError,
  TIMEOUT,
  isDown,
  isErrorReason,
  isExit,
  settle,
  type DownMessage,
  type ExitMessage,
  type Node,
  type Pid,
  type Process,
  type Ref,
  type Report,
} from '../src/index.js';
import { NodePool, spawnRecorder, waitFor, watchDown, type DownWatch } from './helpers.js';

const nodes = new NodePool();
afterEach(() => nodes.stopAll());

/** What a never-returning `receive` is compared against: it lost a race with one event-loop turn. */
const PENDING: unique symbol = Symbol('pending');

/** Resolves with what `p` settles to, or `PENDING` if it has not settled after one event-loop turn. */
function raceTurn<T>(p: Promise<T>): Promise<T | typeof PENDING> {
  return Promise.race([p, settle().then((): typeof PENDING => PENDING)]);
}

/** The error `fn` throws (fails the test when it does not throw). */
function thrownBy(fn: () => unknown): RigilError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RigilError);
    return e as RigilError;
  }
  throw new Error('expected the call to throw');
}

/** Collects the node's reports. */
function collectReports(node: Node): Report[] {
  const reports: Report[] = [];
  node.onReport((r) => reports.push(r));
  return reports;
}

// ---------------------------------------------------------------- spawn

describe('spawn, spawnLink, spawnMonitor', () => {
  it('spawn returns the pid at once and runs the function on a later scheduler turn', async () => {
    const { node } = nodes.simulated();
    let ran = false;
    let seenSelf: Pid | undefined;
    const pid = node.spawn(async (self) => {
      ran = true;
      seenSelf = self.pid;
      await self.receive();
    });
    expect(ran).toBe(false);
    expect(node.isAlive(pid)).toBe(true);
    expect(node.processInfo(pid)?.status).toBe('starting');
    await waitFor(() => ran);
    expect(seenSelf).toBe(pid);
    expect(node.processes()).toContain(pid);
  });

  it('a process whose function returns exits with reason normal', async () => {
    const { node } = nodes.simulated();
    const pid = node.spawn(() => undefined);
    const w = watchDown(node, pid);
    await waitFor(() => w.down);
    expect(w.reason).toBe('normal');
    expect(node.isAlive(pid)).toBe(false);
    expect(node.processInfo(pid)).toBeUndefined();
  });

  it('spawn with trapExit starts the process trapping exits', () => {
    const { node } = nodes.simulated();
    const trapping = node.spawn(async (self) => self.receive(), { trapExit: true });
    const plain = node.spawn(async (self) => self.receive());
    expect(node.processInfo(trapping)?.trapExit).toBe(true);
    expect(node.processInfo(plain)?.trapExit).toBe(false);
  });

  it('spawnLink links parent and child before the child runs, so a crashing child kills its parent', async () => {
    const { node } = nodes.simulated();
    let child: Pid | undefined;
    let linkedAtSpawn: Pid[] | undefined;
    const parent = node.spawn(async (self) => {
      child = self.spawnLink(async () => {
        throw new Error('child failed');
      });
      linkedAtSpawn = node.processInfo(child)?.links;
      await self.receive();
    });
    const w = watchDown(node, parent);
    await waitFor(() => w.down);
    expect(linkedAtSpawn).toEqual([parent]);
    expect(node.isAlive(child!)).toBe(false);
    expect(isErrorReason(w.reason)).toBe(true);
    expect(w.reason).toMatchObject({ error: 'Error', message: 'child failed' });
  });

  it('spawnMonitor delivers a DOWN with the child exit reason even when the child exits at once', async () => {
    const { node } = nodes.simulated();
    let result: { pid: Pid; ref: Ref } | undefined;
    let down: unknown;
    node.spawn(async (self) => {
      result = self.spawnMonitor((c) => c.exit('bye'));
      down = await self.receive((m) => isDown(m, result!.ref));
    });
    await waitFor(() => down !== undefined);
    const d = down as DownMessage;
    expect(d.tag).toBe('DOWN');
    expect(d.type).toBe('process');
    expect(d.object).toBe(result!.pid);
    expect(d.reason).toBe('bye');
  });

  it('spawnMonitor does not link: the parent survives a crashing child', async () => {
    const { node } = nodes.simulated();
    let down: DownMessage | undefined;
    const parent = node.spawn(async (self) => {
      const { ref } = self.spawnMonitor(async () => {
        throw new Error('boom');
      });
      down = await self.receive((m): m is DownMessage => isDown(m, ref));
      await self.receive();
    });
    await waitFor(() => down !== undefined);
    expect(node.isAlive(parent)).toBe(true);
    expect(node.processInfo(parent)?.links).toEqual([]);
    expect(down!.reason).toMatchObject({ error: 'Error', message: 'boom' });
  });
});

// ---------------------------------------------------------------- selective receive

describe('selective receive', () => {
  // Scenario 4 — selective receive
  it('a receive for c over mailbox [a, b, c] returns c at once, and the next plain receive gives a', async () => {
    const { node, clock } = nodes.simulated();
    const out: unknown[] = [];
    const pid = node.spawn(async (self) => {
      out.push(await self.receive((m) => m === 'c', 100));
      out.push(await self.receive());
      out.push(await self.receive());
    });
    node.send(pid, 'a');
    node.send(pid, 'b');
    node.send(pid, 'c');
    const startedAt = clock.now();
    await waitFor(() => out.length === 3);
    expect(clock.now()).toBe(startedAt);
    expect(out).toEqual(['c', 'a', 'b']);
    expect(node.timers.size).toBe(0);
  });

  // Scenario 4 — selective receive
  it('a receive that matches nothing returns TIMEOUT after its timeout, not before, and leaves the mailbox in order', async () => {
    const { node, clock } = nodes.simulated();
    let first: unknown;
    const rest: unknown[] = [];
    const pid = node.spawn(async (self) => {
      first = await self.receive((m) => m === 'z', 100);
      rest.push(await self.receive(), await self.receive(), await self.receive());
    });
    node.send(pid, 'a');
    node.send(pid, 'b');
    node.send(pid, 'c');
    await waitFor(() => node.processInfo(pid)?.status === 'waiting');
    await clock.advance(99);
    expect(first).toBeUndefined();
    await clock.advance(1);
    await waitFor(() => rest.length === 3);
    expect(first).toBe(TIMEOUT);
    expect(rest).toEqual(['a', 'b', 'c']);
  });

  // Scenario 4 — selective receive
  it('a receive with timeout 0 polls: it returns a matching message or TIMEOUT without waiting or arming a timer', async () => {
    const { node, clock } = nodes.simulated();
    const out: unknown[] = [];
    let timersDuringPoll = -1;
    const pid = node.spawn(async (self) => {
      await self.receive((m) => m === 'go');
      out.push(await self.receive((m) => m === 'x', 0));
      timersDuringPoll = node.timers.size;
      out.push(await self.receive((m) => m === 'b', 0));
      out.push(await self.receive(undefined, 0));
      out.push(await self.receive(undefined, 0));
    });
    node.send(pid, 'a');
    node.send(pid, 'b');
    node.send(pid, 'go');
    await waitFor(() => out.length === 4);
    expect(out).toEqual([TIMEOUT, 'b', 'a', TIMEOUT]);
    expect(timersDuringPoll).toBe(0);
    expect(clock.now()).toBe(0);
  });

  it('a message that matches while a receive waits ends the wait and cancels its timeout', async () => {
    const { node, clock } = nodes.simulated();
    let got: unknown;
    const pid = node.spawn(async (self) => {
      got = await self.receive((m) => m === 'wanted', 1000);
    });
    await waitFor(() => node.processInfo(pid)?.status === 'waiting');
    expect(node.timers.size).toBe(1);
    await clock.advance(500);
    node.send(pid, 'other');
    await settle();
    expect(got).toBeUndefined();
    node.send(pid, 'wanted');
    await waitFor(() => got !== undefined);
    expect(got).toBe('wanted');
    expect(node.timers.size).toBe(0);
  });

  it('messages that do not match a waiting receive stay queued, in arrival order, ahead of later ones', async () => {
    const { node } = nodes.simulated();
    const out: unknown[] = [];
    const pid = node.spawn(async (self) => {
      out.push(await self.receive((m) => m === 'target'));
      for (let i = 0; i < 4; i++) out.push(await self.receive());
    });
    node.send(pid, 1);
    await waitFor(() => node.processInfo(pid)?.status === 'waiting');
    node.send(pid, 2);
    node.send(pid, 3);
    expect(node.processInfo(pid)?.messageQueueLen).toBe(3);
    node.send(pid, 'target');
    node.send(pid, 4);
    await waitFor(() => out.length === 5);
    expect(out).toEqual(['target', 1, 2, 3, 4]);
  });

  it('receive timeouts are measured from entry into the receive', async () => {
    const { node, clock } = nodes.simulated();
    let enteredAt = -1;
    let timedOutAt = -1;
    const pid = node.spawn(async (self) => {
      await self.receive((m) => m === 'start');
      enteredAt = clock.now();
      if ((await self.receive((m) => m === 'never', 100)) === TIMEOUT) timedOutAt = clock.now();
    });
    await clock.advance(30);
    node.send(pid, 'start');
    await waitFor(() => enteredAt >= 0);
    await clock.advance(99);
    expect(timedOutAt).toBe(-1);
    await clock.advance(1);
    await waitFor(() => timedOutAt >= 0);
    expect(enteredAt).toBe(30);
    expect(timedOutAt).toBe(130);
  });

  it('a negative or NaN receive timeout is rejected with ERR_BADARG', async () => {
    const { node } = nodes.simulated();
    const codes: string[] = [];
    node.spawn(async (self) => {
      codes.push(thrownBy(() => self.receive(undefined, -1)).code);
      codes.push(thrownBy(() => self.receive(undefined, Number.NaN)).code);
    });
    await waitFor(() => codes.length === 2);
    expect(codes).toEqual(['ERR_BADARG', 'ERR_BADARG']);
  });

  it('a receive pattern that throws crashes the process with the error as reason and leaves no timer behind', async () => {
    const { node } = nodes.simulated();
    const pid = node.spawn(async (self) => {
      await self.receive((m) => {
        if (m === 'bad') throw new TypeError('pattern failed');
        return false;
      }, 1000);
    });
    node.send(pid, 'bad');
    const w = watchDown(node, pid);
    await waitFor(() => w.down);
    expect(w.reason).toMatchObject({ error: 'TypeError', message: 'pattern failed' });
    expect(node.timers.size).toBe(0);
  });
});

// ---------------------------------------------------------------- exit signals

/** The reasons of the exit/2 matrix, with a printable label. */
const EXIT_REASONS: Array<{ label: string; reason: unknown }> = [
  { label: 'normal', reason: 'normal' },
  { label: 'kill', reason: 'kill' },
  { label: 'shutdown', reason: 'shutdown' },
  { label: '{shutdown: x}', reason: { shutdown: 'x' } },
  { label: 'boom', reason: 'boom' },
];

/**
 * P sends R `exit(R, reason)` and then the message `after` (per-pair order: R handles the
 * signal before the message). Resolves once R has died or has received `after`.
 */
async function exitFromProcess(node: Node, trap: boolean, reason: unknown) {
  const r = spawnRecorder(node, { trapExit: trap });
  const w = watchDown(node, r.pid);
  const p = node.spawn(async (self) => {
    self.exit(r.pid, reason);
    self.send(r.pid, 'after');
    await self.receive();
  });
  await waitFor(() => w.down || r.got.includes('after'), 2000, 'R to die or to receive `after`');
  return { r, w, p };
}

describe('exit/2 signals', () => {
  // Scenario 1 — exit signal matrix
  it.each([
    { label: 'normal', reason: 'normal', dies: undefined, outcome: 'is ignored and R keeps running' },
    { label: 'kill', reason: 'kill', dies: 'killed', outcome: 'kills R with reason killed' },
    { label: 'shutdown', reason: 'shutdown', dies: 'shutdown', outcome: 'kills R with reason shutdown' },
    { label: '{shutdown: x}', reason: { shutdown: 'x' }, dies: { shutdown: 'x' }, outcome: 'kills R with reason {shutdown: x}' },
    { label: 'boom', reason: 'boom', dies: 'boom', outcome: 'kills R with reason boom' },
  ])('exit(R, $label) to a process R that does not trap exits $outcome', async ({ reason, dies }) => {
    const { node } = nodes.simulated();
    const { r, w } = await exitFromProcess(node, false, reason);
    if (dies === undefined) {
      expect(w.down).toBe(false);
      expect(node.isAlive(r.pid)).toBe(true);
      expect(r.got).toEqual(['after']);
    } else {
      expect(w.reason).toEqual(dies);
      expect(r.got).toEqual([]);
    }
  });

  // Scenario 1 — exit signal matrix
  it.each(EXIT_REASONS.filter((x) => x.label !== 'kill'))(
    'exit(R, $label) to a trapping process becomes the message {EXIT, P, $label} and R keeps running',
    async ({ reason }) => {
      const { node } = nodes.simulated();
      const { r, w, p } = await exitFromProcess(node, true, reason);
      expect(w.down).toBe(false);
      expect(r.got).toHaveLength(2);
      const msg = r.got[0] as ExitMessage;
      expect(isExit(msg)).toBe(true);
      expect(msg.from).toBe(p);
      expect(msg.reason).toEqual(reason);
      expect(r.got[1]).toBe('after');
    },
  );

  // Scenario 1 — exit signal matrix
  it('exit(R, kill) kills a trapping process with reason killed and delivers no message', async () => {
    const { node } = nodes.simulated();
    const { r, w } = await exitFromProcess(node, true, 'kill');
    expect(w.reason).toBe('killed');
    expect(r.got).toEqual([]);
    expect(node.isAlive(r.pid)).toBe(false);
  });

  // Scenario 1 — exit signal matrix
  it('exit(self, normal) terminates the caller with reason normal', async () => {
    const { node } = nodes.simulated();
    let after = false;
    const pid = node.spawn(async (self) => {
      self.exit(self.pid, 'normal');
      after = true;
    });
    const w = watchDown(node, pid);
    await waitFor(() => w.down);
    expect(w.reason).toBe('normal');
    expect(after).toBe(false);
  });

  // Scenario 1 — exit signal matrix
  it('exit(self, normal) in a trapping process becomes the message {EXIT, self, normal}', async () => {
    const { node } = nodes.simulated();
    let msg: unknown;
    const pid = node.spawn(async (self) => {
      self.exit(self.pid, 'normal');
      msg = await self.receive(undefined, 0);
      await self.receive();
    }, { trapExit: true });
    await waitFor(() => msg !== undefined);
    expect(isExit(msg)).toBe(true);
    expect((msg as ExitMessage).from).toBe(pid);
    expect((msg as ExitMessage).reason).toBe('normal');
    expect(node.isAlive(pid)).toBe(true);
  });

  it('an exit signal sent from outside any process comes from node.systemPid', async () => {
    const { node } = nodes.simulated();
    const r = spawnRecorder(node, { trapExit: true });
    node.exit(r.pid, 'boom');
    await waitFor(() => r.got.length === 1);
    expect((r.got[0] as ExitMessage).from).toBe(node.systemPid);
    expect((r.got[0] as ExitMessage).reason).toBe('boom');
    expect(node.isAlive(node.systemPid)).toBe(false);
  });

  it('exit(R, normal) from outside any process is ignored by a process that does not trap exits', async () => {
    const { node } = nodes.simulated();
    const r = spawnRecorder(node);
    node.exit(r.pid, 'normal');
    node.send(r.pid, 'after');
    await waitFor(() => r.got.length === 1);
    expect(r.got).toEqual(['after']);
    expect(node.isAlive(r.pid)).toBe(true);
  });

  it('trapExit(flag) switches trapping and returns the previous value', async () => {
    const { node } = nodes.simulated();
    const olds: boolean[] = [];
    const pid = node.spawn(async (self) => {
      olds.push(self.trapExit(true));
      olds.push(self.trapExit(true));
      await self.receive((m) => m === 'off');
      olds.push(self.trapExit(false));
      await self.receive();
    });
    await waitFor(() => olds.length === 2);
    expect(node.processInfo(pid)?.trapExit).toBe(true);
    node.send(pid, 'off');
    await waitFor(() => olds.length === 3);
    expect(olds).toEqual([false, true, true]);
    expect(node.processInfo(pid)?.trapExit).toBe(false);
  });
});

/** How P ends in the link half of the matrix, and the reason its linked peers then see. */
const LINK_DEATHS: Array<{ label: string; end: (node: Node, p: Pid) => void; seen: unknown }> = [
  { label: 'returns from its function', end: (node, p) => node.send(p, () => undefined), seen: 'normal' },
  { label: 'calls exit(normal)', end: (node, p) => node.send(p, (s: Process) => s.exit('normal')), seen: 'normal' },
  { label: 'calls exit(shutdown)', end: (node, p) => node.send(p, (s: Process) => s.exit('shutdown')), seen: 'shutdown' },
  { label: 'calls exit({shutdown: x})', end: (node, p) => node.send(p, (s: Process) => s.exit({ shutdown: 'x' })), seen: { shutdown: 'x' } },
  { label: 'calls exit(boom)', end: (node, p) => node.send(p, (s: Process) => s.exit('boom')), seen: 'boom' },
  { label: 'calls exit(kill) on itself', end: (node, p) => node.send(p, (s: Process) => s.exit('kill')), seen: 'kill' },
  {
    label: 'is killed by exit(P, kill) from another process',
    end: (node, p) => {
      node.spawn((k) => k.exit(p, 'kill'));
    },
    seen: 'killed',
  },
  {
    label: 'throws an Error',
    end: (node, p) =>
      node.send(p, () => {
        throw new RangeError('out of range');
      }),
    seen: { error: 'RangeError', message: 'out of range' },
  },
];

/** Asserts an exit reason: equal to a string reason, or containing the fields of an object one. */
function expectReason(actual: unknown, seen: unknown): void {
  if (typeof seen === 'object' && seen !== null) expect(actual).toMatchObject(seen);
  else expect(actual).toBe(seen);
}

/**
 * Links P to R (R trapping or not), makes P end as the row says, and resolves once P is dead
 * and R has either died or handled a later `after` message.
 */
async function linkedDeath(node: Node, trap: boolean, end: (node: Node, p: Pid) => void) {
  const r = spawnRecorder(node, { trapExit: trap });
  const wr = watchDown(node, r.pid);
  const p = node.spawn(async (self) => {
    self.link(r.pid);
    const f = (await self.receive()) as (s: Process) => void;
    f(self);
  });
  const wp = watchDown(node, p);
  await waitFor(() => node.processInfo(r.pid)?.links.includes(p), 2000, 'the link');
  end(node, p);
  await waitFor(() => wp.down, 2000, 'P to die');
  if (!wr.down) node.send(r.pid, 'after');
  await waitFor(() => wr.down || r.got.includes('after'), 2000, 'R to die or to receive `after`');
  return { r, wr, p, wp };
}

describe('exit signals through links', () => {
  // Scenario 1 — exit signal matrix
  it.each(LINK_DEATHS)('when a linked P $label, a non-trapping peer dies with the same reason, unless that reason is normal', async ({ end, seen }) => {
    const { node } = nodes.simulated();
    const { r, wr, wp } = await linkedDeath(node, false, end);
    expectReason(wp.reason, seen);
    if (seen === 'normal') {
      expect(wr.down).toBe(false);
      expect(r.got).toEqual(['after']);
    } else {
      expect(wr.reason).toEqual(wp.reason);
      expect(r.got).toEqual([]);
    }
  });

  // Scenario 1 — exit signal matrix
  it.each(LINK_DEATHS)('when a linked P $label, a trapping peer receives {EXIT, P, reason} and keeps running', async ({ end, seen }) => {
    const { node } = nodes.simulated();
    const { r, wr, p, wp } = await linkedDeath(node, true, end);
    expect(wr.down).toBe(false);
    expect(r.got).toHaveLength(2);
    const msg = r.got[0] as ExitMessage;
    expect(isExit(msg)).toBe(true);
    expect(msg.from).toBe(p);
    expectReason(msg.reason, seen);
    expect(msg.reason).toEqual(wp.reason);
    expect(r.got[1]).toBe('after');
  });

  it('a link is removed once it has carried an exit signal: the trapping peer has no links left', async () => {
    const { node } = nodes.simulated();
    const { r } = await linkedDeath(node, true, (n, p) => n.send(p, (s: Process) => s.exit('boom')));
    expect(node.processInfo(r.pid)?.links).toEqual([]);
  });
});

// ---------------------------------------------------------------- links

describe('link and unlink', () => {
  it('link is bidirectional and linking twice keeps a single link', async () => {
    const { node } = nodes.simulated();
    const other = spawnRecorder(node);
    let done = false;
    const pid = node.spawn(async (self) => {
      self.link(other.pid);
      self.link(other.pid);
      done = true;
      await self.receive();
    });
    await waitFor(() => done);
    expect(node.processInfo(pid)?.links).toEqual([other.pid]);
    expect(node.processInfo(other.pid)?.links).toEqual([pid]);
  });

  it('after unlink, the other process dying sends no exit signal', async () => {
    const { node } = nodes.simulated();
    const r = spawnRecorder(node, { trapExit: true });
    let stage = 0;
    const p = node.spawn(async (self) => {
      self.link(r.pid);
      stage = 1;
      await self.receive((m) => m === 'unlink');
      self.unlink(r.pid);
      stage = 2;
      await self.receive((m) => m === 'die');
      self.exit('boom');
    });
    await waitFor(() => stage === 1);
    expect(node.processInfo(r.pid)?.links).toEqual([p]);
    node.send(p, 'unlink');
    await waitFor(() => stage === 2);
    expect(node.processInfo(r.pid)?.links).toEqual([]);
    expect(node.processInfo(p)?.links).toEqual([]);
    const wp = watchDown(node, p);
    node.send(p, 'die');
    await waitFor(() => wp.down);
    node.send(r.pid, 'after');
    await waitFor(() => r.got.includes('after'));
    expect(r.got).toEqual(['after']);
  });

  it('after unlink, a non-trapping process survives the other dying abnormally', async () => {
    const { node } = nodes.simulated();
    const victim = spawnRecorder(node);
    let unlinked = false;
    const p = node.spawn(async (self) => {
      self.link(victim.pid);
      self.unlink(victim.pid);
      unlinked = true;
      await self.receive();
      self.exit('boom');
    });
    await waitFor(() => unlinked);
    const wp = watchDown(node, p);
    node.send(p, 'die');
    await waitFor(() => wp.down);
    expect(wp.reason).toBe('boom');
    expect(node.isAlive(victim.pid)).toBe(true);
  });

  it('an EXIT already queued stays in the mailbox after unlink', async () => {
    const { node } = nodes.simulated();
    const p = node.spawn(async (self) => {
      await self.receive();
      self.exit('boom');
    });
    let queued = -1;
    let msg: unknown;
    const r = node.spawn(async (self) => {
      self.link(p);
      self.send(p, 'die');
      await self.receive((m) => m === 'now');
      self.unlink(p);
      queued = self.queueLength;
      msg = await self.receive(undefined, 0);
    }, { trapExit: true });
    await waitFor(() => !node.isAlive(p));
    expect(node.processInfo(r)?.messageQueueLen).toBe(1);
    node.send(r, 'now');
    await waitFor(() => msg !== undefined);
    expect(queued).toBe(1);
    expect(msg).toMatchObject({ tag: 'EXIT', reason: 'boom' });
  });

  it('linking to a dead pid kills a non-trapping linker with reason noproc', async () => {
    const { node } = nodes.simulated();
    const dead = node.spawn(() => undefined);
    await waitFor(() => !node.isAlive(dead));
    let after = false;
    const pid = node.spawn(async (self) => {
      self.link(dead);
      after = true;
    });
    const w = watchDown(node, pid);
    await waitFor(() => w.down);
    expect(w.reason).toBe('noproc');
    expect(after).toBe(false);
  });

  it('linking to a dead pid gives a trapping linker the message {EXIT, pid, noproc}', async () => {
    const { node } = nodes.simulated();
    const dead = node.spawn(() => undefined);
    await waitFor(() => !node.isAlive(dead));
    let msg: unknown;
    const pid = node.spawn(async (self) => {
      self.link(dead);
      msg = await self.receive(undefined, 0);
      await self.receive();
    }, { trapExit: true });
    await waitFor(() => msg !== undefined);
    expect(isExit(msg)).toBe(true);
    expect((msg as ExitMessage).from).toBe(dead);
    expect((msg as ExitMessage).reason).toBe('noproc');
    expect(node.processInfo(pid)?.links).toEqual([]);
  });
});

// ---------------------------------------------------------------- monitors

describe('monitors', () => {
  // Scenario 2 — monitor basics
  it('two monitors on one process give two distinct DOWN messages carrying the exit reason', async () => {
    const { node } = nodes.simulated();
    const p = node.spawn(async (self) => {
      await self.receive();
      self.exit('bye');
    });
    let refs: Ref[] = [];
    const downs: DownMessage[] = [];
    node.spawn(async (self) => {
      refs = [self.monitor(p), self.monitor(p)];
      self.send(p, 'go');
      downs.push(await self.receive(isDown), await self.receive(isDown));
      await self.receive();
    });
    await waitFor(() => downs.length === 2);
    expect(refs[0]!.equals(refs[1])).toBe(false);
    expect(new Set(downs.map((d) => d.ref))).toEqual(new Set(refs));
    for (const d of downs) {
      expect(d.type).toBe('process');
      expect(d.object).toBe(p);
      expect(d.reason).toBe('bye');
    }
  });

  // Scenario 2 — monitor basics
  it('monitoring a dead pid gives an immediate DOWN with reason noproc', async () => {
    const { node } = nodes.simulated();
    const dead = node.spawn(() => undefined);
    await waitFor(() => !node.isAlive(dead));
    let ref: Ref | undefined;
    let down: unknown;
    node.spawn(async (self) => {
      ref = self.monitor(dead);
      down = await self.receive(undefined, 0);
    });
    await waitFor(() => down !== undefined);
    expect(isDown(down, ref)).toBe(true);
    expect((down as DownMessage).object).toBe(dead);
    expect((down as DownMessage).reason).toBe('noproc');
  });

  // Scenario 2 — monitor basics
  it('monitoring an unregistered [name, node] gives an immediate DOWN noproc naming [name, node]', async () => {
    const { node } = nodes.simulated();
    let ref: Ref | undefined;
    let down: unknown;
    node.spawn(async (self) => {
      ref = self.monitor(['nobody', node.name]);
      down = await self.receive(undefined, 0);
    });
    await waitFor(() => down !== undefined);
    expect(isDown(down, ref)).toBe(true);
    expect((down as DownMessage).object).toEqual(['nobody', node.name]);
    expect((down as DownMessage).reason).toBe('noproc');
  });

  // Scenario 2 — monitor basics
  it('demonitor with flush removes a DOWN that is already queued', async () => {
    const { node } = nodes.simulated();
    const p = node.spawn(async (self) => {
      await self.receive();
      self.exit('bye');
    });
    let after: unknown;
    let queuedBefore = -1;
    const q = node.spawn(async (self) => {
      const ref = self.monitor(p);
      self.send(p, 'die');
      await self.receive((m) => m === 'flush');
      queuedBefore = self.queueLength;
      self.demonitor(ref, { flush: true });
      after = await self.receive(undefined, 0);
      await self.receive();
    });
    await waitFor(() => node.processInfo(q)?.messageQueueLen === 1, 2000, 'the DOWN to be queued');
    node.send(q, 'flush');
    await waitFor(() => after !== undefined);
    expect(queuedBefore).toBe(1);
    expect(after).toBe(TIMEOUT);
    expect(node.processInfo(q)?.messageQueueLen).toBe(0);
  });

  it('demonitor of an active monitor returns true and no DOWN arrives later', async () => {
    const { node } = nodes.simulated();
    const p = node.spawn(async (self) => {
      await self.receive();
      self.exit('bye');
    });
    let active: boolean | undefined;
    const q = spawnRecorder(node);
    node.spawn(async (self) => {
      const ref = self.monitor(p);
      active = self.demonitor(ref);
      self.send(p, 'die');
    });
    await waitFor(() => active !== undefined && !node.isAlive(p));
    expect(active).toBe(true);
    expect(node.processInfo(p)).toBeUndefined();
    node.send(q.pid, 'after');
    await waitFor(() => q.got.length === 1);
    expect(q.got).toEqual(['after']);
  });

  it('a monitor on a registered name reports DOWN naming [name, node] with the exit reason', async () => {
    const { node } = nodes.simulated();
    const p = node.spawn(async (self) => {
      await self.receive();
      self.exit('bye');
    });
    node.register('svc', p);
    let down: DownMessage | undefined;
    node.spawn(async (self) => {
      const ref = self.monitor('svc');
      self.send('svc', 'die');
      down = await self.receive((m): m is DownMessage => isDown(m, ref));
    });
    await waitFor(() => down !== undefined);
    expect(down!.object).toEqual(['svc', node.name]);
    expect(down!.reason).toBe('bye');
  });

  it('a monitor from outside any process calls its handler once with the reason, and at once with noproc for a dead pid', async () => {
    const { node } = nodes.simulated();
    const p = node.spawn(async (self) => {
      await self.receive();
      self.exit('bye');
    });
    const w = watchDown(node, p);
    node.send(p, 'die');
    await waitFor(() => w.down);
    expect(w.downs).toHaveLength(1);
    expect(w.downs[0]).toMatchObject({ ref: w.ref, reason: 'bye', object: p });
    const late = watchDown(node, p);
    expect(late.downs).toHaveLength(1);
    expect(late.reason).toBe('noproc');
  });
});

// ---------------------------------------------------------------- processInfo

describe('onLocalExit', () => {
  it('sees every local exit with its reason, before the DOWN of a monitor on it; a throwing observer is reported and the others still run; unsubscribed, it sees no more', async () => {
    const { node } = nodes.simulated();
    const reports = collectReports(node);
    const seen: string[] = [];
    const offBad = node.onLocalExit(() => {
      throw new Error('observer bug');
    });
    const off = node.onLocalExit((pid, reason) => seen.push(`${String(pid)} ${String(reason)}`));
    const p = node.spawn(async (self) => {
      await self.receive();
      self.exit('bye');
    });
    node.monitor(p, { onDown: (_ref, reason) => seen.push(`DOWN ${String(reason)}`) });
    node.send(p, 'go');
    await waitFor(() => seen.length === 2);
    expect(seen).toEqual([`${String(p)} bye`, 'DOWN bye']);
    expect(reports.filter((r) => r.message === 'an exit observer threw')).toHaveLength(1);
    off();
    offBad();
    const q = node.spawn(async () => undefined);
    await waitFor(() => !node.isAlive(q));
    expect(seen).toHaveLength(2);
  });
});

describe('processInfo', () => {
  it('reports status, queue length, links, monitors, monitoredBy, registered name, trapExit and kind', async () => {
    const { node } = nodes.simulated();
    const other = spawnRecorder(node);
    let ready = false;
    const pid = node.spawn(async (self) => {
      self.link(other.pid);
      self.monitor(other.pid);
      ready = true;
      await self.receive((m) => m === 'never');
    }, { trapExit: true });
    const starting = node.processInfo(pid);
    expect(starting).toMatchObject({ pid, status: 'starting', messageQueueLen: 0, links: [], monitors: [], trapExit: true, kind: 'function' });
    expect(starting?.registeredName).toBeUndefined();
    await waitFor(() => ready && node.processInfo(pid)?.status === 'waiting');
    node.register('info', pid);
    node.send(pid, 'x');
    node.send(pid, 'y');
    const info = node.processInfo(pid)!;
    expect(info.pid).toBe(pid);
    expect(info.status).toBe('waiting');
    expect(info.messageQueueLen).toBe(2);
    expect(info.links).toEqual([other.pid]);
    expect(info.monitors).toEqual([other.pid]);
    expect(info.monitoredBy).toEqual([]);
    expect(info.registeredName).toBe('info');
    expect(info.trapExit).toBe(true);
    expect(info.kind).toBe('function');
    const otherInfo = node.processInfo(other.pid)!;
    expect(otherInfo.links).toEqual([pid]);
    expect(otherInfo.monitoredBy).toEqual([pid]);
  });

  it('shows a process awaiting something outside the runtime as running', async () => {
    const { node } = nodes.simulated();
    let started = false;
    const pid = node.spawn(async () => {
      started = true;
      await new Promise(() => undefined);
    });
    await waitFor(() => started);
    expect(node.processInfo(pid)?.status).toBe('running');
  });

  it('returns undefined for a dead process and drops the monitors it held', async () => {
    const { node } = nodes.simulated();
    const target = spawnRecorder(node);
    let done = false;
    const pid = node.spawn(async (self) => {
      self.monitor(target.pid);
      done = true;
      await self.receive();
      self.exit('bye');
    });
    await waitFor(() => done);
    expect(node.processInfo(target.pid)?.monitoredBy).toEqual([pid]);
    node.send(pid, 'die');
    await waitFor(() => !node.isAlive(pid));
    expect(node.processInfo(pid)).toBeUndefined();
    expect(node.processInfo(target.pid)?.monitoredBy).toEqual([]);
  });
});

// ---------------------------------------------------------------- crashes and reports

describe('crashes and crash reports', () => {
  it('a process that throws exits with a structured reason {error, message, stack} seen in DOWN and EXIT', async () => {
    const { node } = nodes.simulated();
    const peer = spawnRecorder(node, { trapExit: true });
    const pid = node.spawn(async (self) => {
      self.link(peer.pid);
      await self.receive();
      throw new TypeError('bad thing');
    });
    const w = watchDown(node, pid);
    await waitFor(() => node.processInfo(peer.pid)?.links.length === 1);
    node.send(pid, 'go');
    await waitFor(() => w.down && peer.got.length === 1);
    const reason = w.reason as { error: string; message: string; stack: string };
    expect(isErrorReason(reason)).toBe(true);
    expect(reason.error).toBe('TypeError');
    expect(reason.message).toBe('bad thing');
    expect(typeof reason.stack).toBe('string');
    expect(reason.stack).toContain('bad thing');
    const exit = peer.got[0] as ExitMessage;
    expect(exit.from).toBe(pid);
    expect(exit.reason).toEqual(reason);
  });

  it('a thrown non-Error value becomes a nocatch reason carrying the value', async () => {
    const { node } = nodes.simulated();
    const pid = node.spawn(async () => {
      throw { oops: 1 };
    });
    const w = watchDown(node, pid);
    await waitFor(() => w.down);
    expect(w.reason).toMatchObject({ error: 'nocatch', reason: { oops: 1 } });
  });

  it('a thrown RigilError keeps its code in the exit reason', async () => {
    const { node } = nodes.simulated();
    const pid = node.spawn(async (self) => {
      self.send('nobody-here', 'hi');
    });
    const w = watchDown(node, pid);
    await waitFor(() => w.down);
    expect(w.reason).toMatchObject({ error: 'RigilError', code: 'ERR_NOT_REGISTERED' });
  });

  it('an abnormal exit produces one crash report with the pid, its registered name and the reason', async () => {
    const { node } = nodes.simulated();
    const reports = collectReports(node);
    const pid = node.spawn(async (self) => {
      await self.receive();
      throw new Error('crashed');
    });
    node.register('crasher', pid);
    node.send(pid, 'go');
    await waitFor(() => !node.isAlive(pid));
    const crashes = reports.filter((r) => r.kind === 'crash');
    expect(crashes).toHaveLength(1);
    expect(crashes[0]!.pid).toBe(pid);
    expect(crashes[0]!.name).toBe('crasher');
    expect(crashes[0]!.node).toBe(node.name);
    expect(crashes[0]!.reason).toMatchObject({ error: 'Error', message: 'crashed' });
  });

  it('exit(boom) from a process produces a crash report', async () => {
    const { node } = nodes.simulated();
    const reports = collectReports(node);
    const pid = node.spawn((self) => self.exit('boom'));
    await waitFor(() => !node.isAlive(pid));
    expect(reports.filter((r) => r.kind === 'crash').map((r) => r.reason)).toEqual(['boom']);
  });

  it.each([
    { label: 'returning', end: (_s: Process) => undefined },
    { label: 'exit(normal)', end: (s: Process) => s.exit('normal') },
    { label: 'exit(shutdown)', end: (s: Process) => s.exit('shutdown') },
    { label: 'exit({shutdown: x})', end: (s: Process) => s.exit({ shutdown: 'x' }) },
  ])('ending by $label produces no crash report', async ({ end }) => {
    const { node } = nodes.simulated();
    const reports = collectReports(node);
    const pid = node.spawn((self) => end(self));
    const w = watchDown(node, pid);
    await waitFor(() => w.down);
    expect(reports).toEqual([]);
  });
});

// ---------------------------------------------------------------- killed while awaiting outside work

/**
 * Spawns a process that waits on a gate (a promise outside the runtime), kills it with
 * exit(P, kill), then opens the gate so its code resumes and runs `later`. Resolves once
 * `later` has returned or thrown; what it throws is swallowed unless `rethrow` is set.
 */
async function runAfterKill(
  node: Node,
  later: (self: Process) => unknown,
  options: { rethrow?: boolean } = {},
): Promise<{ pid: Pid; self: Process; downs: DownWatch }> {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const state: { self?: Process; finished: boolean } = { finished: false };
  const pid = node.spawn(async (self) => {
    state.self = self;
    await gate;
    try {
      await later(self);
    } catch (e) {
      // what a dead process's call throws is not under test, unless asked to let it escape
      if (options.rethrow) throw e;
    } finally {
      state.finished = true;
    }
  });
  await waitFor(() => state.self !== undefined);
  const w = watchDown(node, pid);
  node.exit(pid, 'kill');
  expect(w.reason).toBe('killed');
  expect(node.isAlive(pid)).toBe(false);
  open();
  await waitFor(() => state.finished, 2000, 'the killed process code to run to its end');
  return { pid, self: state.self!, downs: w };
}

describe('a process killed while awaiting something outside the runtime', () => {
  it('is dead at once even though its promise never resolves: links fire, its name is freed and its mailbox dropped', async () => {
    const { node } = nodes.simulated();
    const peer = spawnRecorder(node, { trapExit: true });
    const holder: { self?: Process } = {};
    const pid = node.spawn(async (self) => {
      holder.self = self;
      self.link(peer.pid);
      await new Promise(() => undefined);
    });
    await waitFor(() => holder.self !== undefined && node.processInfo(peer.pid)?.links.length === 1);
    node.register('victim', pid);
    node.send(pid, 'm1');
    node.send(pid, 'm2');
    expect(node.processInfo(pid)?.messageQueueLen).toBe(2);
    const w = watchDown(node, pid);
    node.exit(pid, 'kill');
    expect(node.isAlive(pid)).toBe(false);
    expect(node.processInfo(pid)).toBeUndefined();
    expect(node.whereis('victim')).toBeUndefined();
    expect(node.registered()).not.toContain('victim');
    expect(w.reason).toBe('killed');
    expect(holder.self!.alive).toBe(false);
    expect(holder.self!.queueLength).toBe(0);
    await waitFor(() => peer.got.length === 1);
    expect(peer.got[0]).toMatchObject({ tag: 'EXIT', reason: 'killed' });
    expect((peer.got[0] as ExitMessage).from).toBe(pid);
    expect(node.processInfo(peer.pid)?.links).toEqual([]);
    expect(node.register('victim', peer.pid)).toBe(true);
  });

  it('drops the messages it sends after it resumes', async () => {
    const { node } = nodes.simulated();
    const observer = spawnRecorder(node);
    await runAfterKill(node, (self) => {
      self.send(observer.pid, 'late');
    });
    node.send(observer.pid, 'marker');
    await waitFor(() => observer.got.includes('marker'));
    expect(observer.got).toEqual(['marker']);
  });

  it('never returns from a receive it makes after it resumes, with or without a timeout, and arms no timer', async () => {
    const { node, clock } = nodes.simulated();
    const outcomes: unknown[] = [];
    let timers = -1;
    const { pid } = await runAfterKill(node, async (self) => {
      node.send(self.pid, 'msg');
      outcomes.push(await raceTurn(self.receive(undefined, 0)));
      outcomes.push(await raceTurn(self.receive()));
      const withTimeout = self.receive(undefined, 50);
      timers = node.timers.size;
      await clock.advance(100);
      outcomes.push(await raceTurn(withTimeout));
    });
    expect(outcomes).toEqual([PENDING, PENDING, PENDING]);
    expect(timers).toBe(0);
    expect(node.isAlive(pid)).toBe(false);
  });

  it('cannot kill another process with exit/2 after it resumes', async () => {
    const { node } = nodes.simulated();
    const plain = spawnRecorder(node);
    const trapping = spawnRecorder(node, { trapExit: true });
    await runAfterKill(node, (self) => {
      self.exit(plain.pid, 'boom');
      self.exit(trapping.pid, 'boom');
    });
    expect(node.isAlive(plain.pid)).toBe(true);
    node.send(trapping.pid, 'marker');
    await waitFor(() => trapping.got.includes('marker'));
    expect(trapping.got).toEqual(['marker']);
  });

  it('cannot spawn processes after it resumes', async () => {
    const { node } = nodes.simulated();
    let childRan = false;
    const before = node.processCount;
    await runAfterKill(node, (self) => {
      self.spawn(() => {
        childRan = true;
      });
    });
    const linkedRan = { value: false };
    await runAfterKill(node, (self) => {
      self.spawnLink(async () => {
        linkedRan.value = true;
        await new Promise(() => undefined);
      });
    });
    await settle();
    await settle();
    expect(childRan).toBe(false);
    expect(linkedRan.value).toBe(false);
    expect(node.processCount).toBe(before);
  });

  it('leaves no monitor on another process when it calls monitor after it resumes', async () => {
    const { node } = nodes.simulated();
    const target = spawnRecorder(node);
    const { pid } = await runAfterKill(node, (self) => {
      self.monitor(target.pid);
    });
    expect(node.processInfo(target.pid)?.monitoredBy).not.toContain(pid);
    expect(node.processInfo(target.pid)?.monitoredBy).toEqual([]);
  });

  it('creates no link when it calls link after it resumes', async () => {
    const { node } = nodes.simulated();
    const target = spawnRecorder(node);
    await runAfterKill(node, (self) => {
      self.link(target.pid);
    });
    expect(node.processInfo(target.pid)?.links).toEqual([]);
  });

  it('arms no timer and delivers nothing when it calls sendAfter after it resumes', async () => {
    const { node, clock } = nodes.simulated();
    const observer = spawnRecorder(node);
    await runAfterKill(node, (self) => {
      self.sendAfter(10, observer.pid, 'tick');
    });
    expect(node.timers.size).toBe(0);
    await clock.advance(50);
    node.send(observer.pid, 'marker');
    await waitFor(() => observer.got.includes('marker'));
    expect(observer.got).toEqual(['marker']);
  });

  it('does not exit a second time or report a crash when its code later exits or throws', async () => {
    const { node } = nodes.simulated();
    const reports = collectReports(node);
    const exiting = await runAfterKill(node, (self) => self.exit('boom'), { rethrow: true });
    const throwing = await runAfterKill(
      node,
      () => {
        throw new Error('after death');
      },
      { rethrow: true },
    );
    await settle();
    expect(exiting.downs.downs.map((d) => d.reason)).toEqual(['killed']);
    expect(throwing.downs.downs.map((d) => d.reason)).toEqual(['killed']);
    expect(reports.filter((r) => r.kind === 'crash')).toEqual([]);
  });
});
