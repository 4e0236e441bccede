/**
 * The local demo: a supervisor with two workers, `ticker` and `counter`. The counter crashes
 * on purpose; the supervisor restarts it (one_for_one), the ticker is untouched. Everything is
 * printed as it happens, and the program exits by itself (status 0 when every step behaved).
 */
import { Node, genServer, supervisor, sys, type GenServerBehaviour, type Pid, type Report } from '@rigil/core';

type CounterProto = { call: 'get' | 'crash'; reply: number; cast: 'inc' };

const counter: GenServerBehaviour<number, number, CounterProto> = {
  init: (start) => ({ ok: start }),
  handleCall: (req, _from, n) => {
    if (req === 'crash') throw new Error('counter asked to crash');
    return { reply: n, state: n };
  },
  handleCast: (_msg, n) => ({ noreply: n + 1 }),
};

const ticker: GenServerBehaviour<number, undefined> = {
  init: () => ({ ok: 0, timeout: 50 }),
  handleInfo: (msg, ticks) => (msg === 'timeout' ? { noreply: ticks + 1, timeout: 50 } : { noreply: ticks }),
};

const tree = {
  init: () => ({
    flags: { strategy: 'one_for_one' as const, intensity: 3, period: 5 },
    children: [
      supervisor.worker('ticker', ticker, undefined, { name: 'ticker' }),
      supervisor.worker('counter', counter, 0, { name: 'counter' }),
    ],
  }),
};

function log(step: string): void {
  console.log(`[demo] ${step}`);
}

async function main(): Promise<number> {
  const node = new Node({ name: 'demo@localhost' });
  node.onReport((r: Report) => {
    if (r.kind === 'supervisor') log(`supervisor report: ${r.message} (${String(r.event)})`);
  });
  let ok = true;
  const check = (cond: boolean, what: string): void => {
    log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
    ok &&= cond;
  };

  const started = await supervisor.start(node, tree, undefined, { name: 'demo_sup' });
  check(typeof started === 'object' && 'ok' in started, 'supervisor demo_sup started with ticker and counter');
  const children = await supervisor.whichChildren(node, 'demo_sup');
  for (const c of children) log(`  child ${String(c.id)} -> ${String(c.pid)}`);

  for (let i = 0; i < 3; i++) genServer.cast(node, 'counter', 'inc');
  check((await genServer.call(node, 'counter', 'get')) === 3, 'counter counted three casts');

  const before = node.whereis('counter') as Pid;
  const tickerBefore = node.whereis('ticker');
  log(`crashing counter ${before} ...`);
  // Watch the crash from a process of our own: it monitors the counter and reports the DOWN.
  const down = new Promise<unknown>((resolve) => {
    node.spawn(async (self) => {
      const ref = self.monitor(before);
      const m = (await self.receive((x) => (x as { ref?: unknown }).ref === ref)) as { reason: unknown };
      resolve(m.reason);
    });
  });
  await genServer.call(node, 'counter', 'crash').catch((e: Error) => log(`  the call failed as expected: ${e.message}`));
  const reason = (await down) as { message?: string };
  check(reason.message === 'counter asked to crash', `counter died with a structured reason: ${reason.message}`);

  const after = await waitFor(() => {
    const p = node.whereis('counter');
    return p !== undefined && !p.equals(before) ? p : undefined;
  });
  check(after !== undefined, `supervisor restarted counter as ${String(after)}`);
  check((await genServer.call(node, 'counter', 'get')) === 0, 'the restarted counter starts from its initial state');
  check(node.whereis('ticker') === tickerBefore, 'ticker was not restarted (one_for_one)');
  const ticks = await sys.getState<number>(node, 'ticker');
  log(`  ticker ticked ${ticks} times meanwhile`);

  log('stopping the node');
  await node.stop();
  check(node.processCount === 0, 'no process left after node.stop()');
  log(ok ? 'demo finished: every step behaved as expected' : 'demo finished with failures');
  return ok ? 0 : 1;
}

async function waitFor<T>(f: () => T | undefined, ms = 5000): Promise<T | undefined> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
  return undefined;
}

process.exitCode = await main();
