/**
 * Error and log hygiene of a node (issue 16): refused connections are reported once per peer
 * address, code and interval, then summarised (refusal_log.ts); a port in use is
 * `ERR_ADDRESS_IN_USE`; `net.dialError` says why a dial failed (nothing listening, the peer
 * refused our cookie, another node answers at the address).
 */
import { createServer } from 'node:net';
import { Node, SimulatedClock, type Report } from '@rigil/core';
import { describe, expect, it } from 'vitest';
import { DistError, DistNode, OTHER_ADDRESSES, RefusalLog } from '../src/index.js';
import { distReports, uniqueName, useCluster, waitFor, type Cluster } from './helpers.js';

const cluster: Cluster = useCluster();

/** A RefusalLog on a simulated clock, with the reports it made. */
function simulated(intervalMs: number, maxKeys?: number): { log: RefusalLog; clock: SimulatedClock; reports: Array<Omit<Report, 'node'>> } {
  const clock = new SimulatedClock();
  const node = new Node({ name: 'sim@127.0.0.1', clock });
  const reports: Array<Omit<Report, 'node'>> = [];
  const log = new RefusalLog({ clock, timers: node.timers, report: (r) => reports.push(r) }, intervalMs, maxKeys);
  return { log, clock, reports };
}

const report = (message: string): Omit<Report, 'node'> => ({ kind: 'dist', message, code: 'ERR_BAD_COOKIE' });

describe('RefusalLog', () => {
  it('reports the first refusal from an address, then one summary per interval, then starts over after a quiet interval', async () => {
    const { log, clock, reports } = simulated(60_000);
    expect(log.refused('from', '10.0.0.7', 'ERR_BAD_COOKIE', report('first'))).toBe(true);
    for (let i = 0; i < 11; i++) expect(log.refused('from', '10.0.0.7', 'ERR_BAD_COOKIE', report(`again ${i}`))).toBe(false);
    expect(reports.map((r) => r.message)).toEqual(['first']);
    await clock.advance(59_999);
    expect(reports).toHaveLength(1);
    await clock.advance(1);
    expect(reports).toHaveLength(2);
    expect(reports[1]).toMatchObject({ kind: 'dist', code: 'ERR_BAD_COOKIE', address: '10.0.0.7', refused: 11, summary: true });
    expect(reports[1]!.message).toBe('11 more connections refused (ERR_BAD_COOKIE) from 10.0.0.7 in the last 60 s');
    // Still refusing in the next interval: counted, one summary at its end.
    log.refused('from', '10.0.0.7', 'ERR_BAD_COOKIE', report('x'));
    await clock.advance(60_000);
    expect(reports).toHaveLength(3);
    expect(reports[2]!.message).toBe('1 more connection refused (ERR_BAD_COOKIE) from 10.0.0.7 in the last 60 s');
    // A quiet interval: no summary, the entry is forgotten, the next refusal is reported in full.
    await clock.advance(60_000);
    expect(reports).toHaveLength(3);
    expect(log.size).toBe(0);
    expect(log.refused('from', '10.0.0.7', 'ERR_BAD_COOKIE', report('back'))).toBe(true);
    expect(reports[3]!.message).toBe('back');
    log.close();
    expect(log.size).toBe(0);
  });

  it('keeps addresses, codes and directions apart', () => {
    const { log, reports } = simulated(60_000);
    expect(log.refused('from', '10.0.0.7', 'ERR_BAD_COOKIE', report('a'))).toBe(true);
    expect(log.refused('from', '10.0.0.8', 'ERR_BAD_COOKIE', report('b'))).toBe(true);
    expect(log.refused('from', '10.0.0.7', 'ERR_PROTOCOL_STATE', report('c'))).toBe(true);
    expect(log.refused('to', '10.0.0.7', 'ERR_BAD_COOKIE', report('d'))).toBe(true);
    expect(log.refused('from', '10.0.0.7', 'ERR_BAD_COOKIE', report('e'))).toBe(false);
    expect(reports.map((r) => r.message)).toEqual(['a', 'b', 'c', 'd']);
    log.close();
  });

  it('is bounded: addresses beyond maxKeys share one entry per code, summarised as other addresses', async () => {
    const { log, clock, reports } = simulated(1000, 3);
    for (let i = 0; i < 1000; i++) log.refused('from', `10.1.${i >> 8}.${i & 255}`, 'ERR_BAD_COOKIE', report(`from ${i}`));
    // Three addresses, then the overflow entry's first refusal.
    expect(reports.map((r) => r.message)).toEqual(['from 0', 'from 1', 'from 2', 'from 3']);
    expect(log.size).toBe(4);
    await clock.advance(1000);
    expect(reports).toHaveLength(5);
    expect(reports[4]).toMatchObject({ address: OTHER_ADDRESSES, refused: 996 });
    log.close();
    expect(log.refused('from', '10.0.0.1', 'ERR_BAD_COOKIE', report('after close'))).toBe(false);
    expect(reports).toHaveLength(5);
  });

  it('close reports what the current interval counted, then nothing more', async () => {
    const { log, clock, reports } = simulated(60_000);
    log.refused('from', '10.0.0.7', 'ERR_BAD_COOKIE', report('first'));
    log.refused('from', '10.0.0.8', 'ERR_BAD_COOKIE', report('other'));
    await clock.advance(30_000);
    log.refused('from', '10.0.0.7', 'ERR_BAD_COOKIE', report('again'));
    log.refused('from', '10.0.0.7', 'ERR_BAD_COOKIE', report('again'));
    log.close();
    expect(reports.map((r) => r.message)).toEqual(['first', 'other', '2 more connections refused (ERR_BAD_COOKIE) from 10.0.0.7 in the last 30 s']);
    await clock.advance(120_000);
    expect(reports).toHaveLength(3);
    log.close();
    expect(reports).toHaveLength(3);
  });
});

describe('a node refusing connections', () => {
  it('reports repeated wrong-cookie dials from one address once, then a summary with the count', async () => {
    const a = await cluster.start('a', { refusalLogMs: 400 });
    const reports = distReports(a);
    const b = await cluster.start('b', { cookie: 'wrong', listen: false, reconnect: { baseMs: 10, maxMs: 20 }, seeds: [cluster.seed(a)], refusalLogMs: 60_000 });
    const bReports = distReports(b);
    // b redials its seed every 10–20 ms for life: many refusals within a's interval.
    await waitFor(() => a.net.stats.handshakeFailures >= 6, 5000, 'several refused dials');
    const cookie = (): Report[] => reports.filter((r) => r.code === 'ERR_BAD_COOKIE');
    const summary = await waitFor(() => cookie().find((r) => r.summary === true), 5000, 'a summary report');
    const first = cookie()[0]!;
    expect(first.summary).toBeUndefined();
    expect(first.address).toBe('127.0.0.1');
    expect(first.message).toContain('(127.0.0.1)');
    expect(first.message).toContain(b.name);
    expect(summary.address).toBe('127.0.0.1');
    expect(summary.refused).toBeGreaterThanOrEqual(4);
    expect(summary.message).toMatch(/^\d+ more connections refused \(ERR_BAD_COOKIE\) from 127\.0\.0\.1 in the last 0\.\d s$/);
    // Between the first report and the summary nothing else about the cookie was reported.
    expect(cookie().indexOf(summary)).toBe(1);
    // The dialling side rate-limits its own refusals the same way (keyed by the node it dials):
    // one report for all its refused redials within its interval.
    const refusedB = bReports.filter((r) => r.code === 'ERR_BAD_COOKIE');
    expect(refusedB).toHaveLength(1);
    expect(refusedB[0]!.message).toBe(`connection to ${a.name} refused by the peer: ERR_BAD_COOKIE`);
    expect(b.net.dialError(a.name)).toMatchObject({ reason: { peerCode: 'ERR_BAD_COOKIE' } });
    await b.stop();
  });
});

describe('listening', () => {
  it('a port in use is ERR_ADDRESS_IN_USE naming host and port, and nothing is left running', async () => {
    const a = await cluster.start('a');
    let thrown: unknown;
    try {
      cluster.add(await DistNode.start({ name: uniqueName('b'), cookie: 'c', port: a.port }));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(DistError);
    const e = thrown as DistError;
    expect(e.code).toBe('ERR_ADDRESS_IN_USE');
    expect(e.message).toContain(`127.0.0.1:${a.port}`);
    expect(e.reason).toEqual({ host: '127.0.0.1', port: a.port });
    // a is unaffected.
    const c = await cluster.start('c', { seeds: [cluster.seed(a)] });
    expect(await c.connect(a.name)).toBe(true);
  });

  it('a host that is not an address of this machine is ERR_LISTEN with the OS code', async () => {
    let thrown: unknown;
    try {
      cluster.add(await DistNode.start({ name: uniqueName('b'), cookie: 'c', port: 0, host: '192.0.2.1' }));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ code: 'ERR_LISTEN', reason: { host: '192.0.2.1', port: 0, cause: 'EADDRNOTAVAIL' } });
  });
});

describe('net.dialError: why a dial failed', () => {
  it('nothing listening: ERR_NOT_CONNECTED with cause ECONNREFUSED', async () => {
    const port = await closedPort();
    const probe = await cluster.start('p', { listen: false, hidden: true });
    const target = uniqueName('nobody');
    probe.net.addAddress(target, `ws://127.0.0.1:${port}`);
    expect(await probe.connect(target)).toBe(false);
    const e = probe.net.dialError(target);
    expect(e).toMatchObject({ code: 'ERR_NOT_CONNECTED', reason: { cause: 'ECONNREFUSED' } });
  });

  it('a wrong cookie: the peer refused the handshake with ERR_BAD_COOKIE', async () => {
    const a = await cluster.start('a');
    const probe = await cluster.start('p', { listen: false, hidden: true, cookie: 'wrong' });
    probe.net.addAddress(a.name, a.url!);
    expect(await probe.connect(a.name)).toBe(false);
    expect(probe.net.dialError(a.name)).toMatchObject({ code: 'ERR_NOT_CONNECTED', reason: { peerCode: 'ERR_BAD_COOKIE' } });
  });

  it('another node at the address: ERR_BAD_NAME naming both; a later success clears it', async () => {
    const a = await cluster.start('a');
    const probe = await cluster.start('p', { listen: false, hidden: true });
    const wrong = uniqueName('other');
    probe.net.addAddress(wrong, a.url!);
    expect(await probe.connect(wrong)).toBe(false);
    const e = probe.net.dialError(wrong)!;
    expect(e.code).toBe('ERR_BAD_NAME');
    expect(e.message).toContain(wrong);
    expect(e.message).toContain(a.name);
    probe.net.addAddress(a.name, a.url!);
    expect(await probe.connect(a.name)).toBe(true);
    expect(probe.net.dialError(a.name)).toBeUndefined();
  });
});

/** A loopback port nothing listens on (it was free a moment ago). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
