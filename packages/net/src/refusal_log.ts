/**
 * Refused connections, reported once per peer address, code and interval (issue 16).
 *
 * A node that can be reached from the network sees connections it refuses: a peer with the
 * wrong cookie that redials every two seconds for life, a scanner, a stranger's hostile bytes.
 * Reporting each one floods the log (and whatever reads the reports). The first refusal of a
 * kind (one `code`) from one address is reported as it happens; the ones that follow within
 * `intervalMs` are counted, and at the end of the interval one summary report says how many
 * there were ("12 more refused (ERR_BAD_COOKIE) from 10.0.0.7 in the last 60 s"). An address
 * quiet for a whole interval starts over: its next refusal is reported in full again.
 *
 * The table is bounded (`maxKeys`): beyond it, refusals from new addresses share one entry per
 * code, `other addresses`, so a flood from many addresses costs a bounded table and a bounded
 * number of lines per interval too. Every refusal is still counted in `NetStats`.
 *
 * OTP logs each failed handshake (`dist_util`'s `?shutdown` with an error report when
 * `net_kernel:verbose` is set, and "Connection attempt from node X rejected: invalid challenge
 * reply" always); rigil summarises, a departure for a node exposed to the network.
 */
import type { Node, Report, Timer } from '@rigil/core';

/** Defaults of the refusal log: one interval is a minute, 256 address × code entries at most. */
export const REFUSAL_LOG_DEFAULTS = { intervalMs: 60_000, maxKeys: 256 } as const;

/** The address refusals from addresses beyond `maxKeys` are counted under. */
export const OTHER_ADDRESSES = 'other addresses';

interface Entry {
  readonly direction: 'from' | 'to';
  readonly address: string;
  readonly code: string;
  /** When the current interval began. */
  since: number;
  /** Refusals in the current interval not reported one by one. */
  more: number;
}

/** Rate-limits the reports of refused connections (see the module comment). */
export class RefusalLog {
  private readonly entries = new Map<string, Entry>();
  private timer: Timer | undefined;
  private closed = false;

  constructor(
    private readonly node: Pick<Node, 'clock' | 'timers' | 'report'>,
    /** An interval, in ms. */
    readonly intervalMs: number = REFUSAL_LOG_DEFAULTS.intervalMs,
    /** Entries (address × code) at most. */
    readonly maxKeys: number = REFUSAL_LOG_DEFAULTS.maxKeys,
  ) {}

  /**
   * A connection `from` (inbound: `address` is the peer's network address) or `to` (outbound:
   * `address` is the node dialled) was refused with `code`: reports `report` if it is the first
   * of its kind in the interval, else counts it for the summary. Returns true if it was reported.
   */
  refused(direction: 'from' | 'to', address: string, code: string, report: Omit<Report, 'node'>): boolean {
    if (this.closed) return false;
    let key = `${direction}\u0000${address}\u0000${code}`;
    let e = this.entries.get(key);
    if (e === undefined && this.entries.size >= this.maxKeys) {
      key = `${direction}\u0000\u0000${code}`;
      e = this.entries.get(key);
      address = OTHER_ADDRESSES;
      // The overflow entry may not exist yet: it may take the table one entry per code beyond
      // `maxKeys`, no more (codes are a fixed set).
    }
    if (e !== undefined) {
      e.more++;
      return false;
    }
    this.entries.set(key, { direction, address, code, since: this.node.clock.now(), more: 0 });
    this.node.report(report);
    this.arm();
    return true;
  }

  /**
   * Stops the interval timer after one last summary for each entry that counted refusals
   * (the node stops: what it refused is not lost from the log); nothing is reported after.
   */
  close(): void {
    if (this.closed) return;
    if (this.timer !== undefined) this.node.timers.cancel(this.timer);
    this.timer = undefined;
    this.sweep(true);
    this.closed = true;
    this.entries.clear();
  }

  /** Entries in the table (for tests and `internalSizes`). */
  get size(): number {
    return this.entries.size;
  }

  /** Schedules the sweep at the end of the oldest entry's interval, if none is scheduled. */
  private arm(): void {
    if (this.timer !== undefined || this.entries.size === 0 || this.closed) return;
    let oldest = Infinity;
    for (const e of this.entries.values()) if (e.since < oldest) oldest = e.since;
    const delay = Math.max(1, oldest + this.intervalMs - this.node.clock.now());
    this.timer = this.node.timers.schedule(delay, () => {
      this.timer = undefined;
      this.sweep();
    }, undefined);
  }

  /** Ends the intervals that are over (`all`: every interval): a summary for each that counted more, forgets the quiet ones. */
  private sweep(all = false): void {
    if (this.closed) return;
    const now = this.node.clock.now();
    for (const [key, e] of this.entries) {
      if (!all && now - e.since < this.intervalMs) continue;
      if (e.more === 0) {
        this.entries.delete(key);
        continue;
      }
      const ms = now - e.since;
      const seconds = ms >= 10_000 ? Math.round(ms / 1000) : Math.round(ms / 100) / 10;
      this.node.report({
        kind: 'dist',
        code: e.code,
        message: `${e.more} more connection${e.more === 1 ? '' : 's'} ${e.direction === 'from' ? 'refused' : 'refused by the peer'} (${e.code}) ${e.direction} ${e.address} in the last ${seconds} s`,
        address: e.address,
        refused: e.more,
        summary: true,
      });
      e.since = now;
      e.more = 0;
    }
    if (!all) this.arm();
  }
}
