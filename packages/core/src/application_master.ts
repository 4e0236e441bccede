/**
 * The application master (OTP's `application_master`): one process per running application.
 *
 * It owns the application's processes (every process spawned inside the application belongs
 * to it, as OTP's group leader), runs `start` and the start phases, watches the top
 * supervisor, and on stop runs `prepStop`, shuts the tree down, runs `stop` and kills whatever
 * processes of the application are left. Semantics: spec §d.4–§d.5.
 */
import type { ApplicationSpec, StartType } from './application.js';
import type { NodeType as Node } from './process.js';
import { Pid } from './pid.js';
import { ProcessExited, type Process } from './process.js';
import { recordOf } from './internal/process.js';
import { isExit, reasonFromThrown, type ExitReason } from './reason.js';
import type { Timer } from './timer.js';

/** Lifecycle of an application master. */
export type MasterPhase =
  /** running `start` and the start phases */
  | 'starting'
  /** started; watching the top supervisor */
  | 'running'
  /** running `prepStop` / shutting down / `stop` */
  | 'stopping';

/** Message asking a master to stop its application. */
interface StopRequest {
  readonly $am: 'stop';
}

/** One running (or starting) application. */
export class ApplicationMaster {
  /** Where the master is in its lifecycle; `startType()` reads it. */
  phase: MasterPhase = 'starting';
  /** The master's process. */
  pid: Pid | undefined = undefined;
  /** The top supervisor. */
  top: Pid | undefined = undefined;
  /** The state returned by `start` (passed to `prepStop`/`stop`). */
  state: unknown = undefined;
  /** Set when the controller asked for the stop (the exit is then expected). */
  stopRequested = false;
  /** When the application finished starting (ms since the epoch). */
  startedAt = 0;
  private maxTimer: Timer | undefined = undefined;

  constructor(
    readonly node: Node,
    readonly spec: ApplicationSpec,
    /** The start type of this instance. */
    readonly startType: StartType,
  ) {}

  /**
   * Starts the master and the application; resolves `'ok'` once `start` and every start phase
   * have returned, or `{ error }` (the master is then gone).
   */
  start(): Promise<'ok' | { error: unknown }> {
    if (this.spec.mod === undefined) {
      // A library application has no processes (OTP's `{ok, undefined}`).
      this.phase = 'running';
      this.startedAt = Date.now();
      return Promise.resolve('ok');
    }
    return new Promise((resolve) => {
      let settled = false;
      const done = (r: 'ok' | { error: unknown }): void => {
        if (settled) return;
        settled = true;
        resolve(r);
      };
      const pid = this.node.spawn(async (self) => {
        recordOf(self)._group = this;
        self.trapExit(true);
        const r = await this.startApplication(self);
        if (r !== 'ok') {
          this.killMembers(self);
          done(r);
          self.exit('normal');
        }
        this.phase = 'running';
        this.startedAt = Date.now();
        if (this.spec.maxT !== undefined) this.maxTimer = this.node.sendAfter(this.spec.maxT, self.pid, { $am: 'maxT' });
        done('ok');
        await this.loop(self);
      });
      this.pid = pid;
      // The master itself may die while starting (its start callback called `self.exit`, or
      // something killed it): the start fails with that reason.
      this.node.monitor(pid, {
        onDown: (_r, reason) => {
          if (settled) return;
          this.killMembers(undefined);
          done({ error: { reason, callback: 'start', application: this.spec.name } });
        },
      });
    });
  }

  /** Stops the application (OTP's `application_master:stop/1`); resolves when it is gone. */
  stop(): Promise<void> {
    this.stopRequested = true;
    const pid = this.pid;
    if (pid === undefined || !this.node.isAlive(pid)) return Promise.resolve();
    return new Promise((resolve) => {
      this.node.monitor(pid, { onDown: () => resolve() });
      this.node.send(pid, { $am: 'stop' } satisfies StopRequest);
    });
  }

  private async startApplication(self: Process): Promise<'ok' | { error: unknown }> {
    const { spec, startType } = this;
    const mod = spec.mod;
    if (mod === undefined) return 'ok';
    let r: unknown;
    try {
      r = await mod.start(startType, spec.modArgs, self);
    } catch (e) {
      const reason = e instanceof ProcessExited ? e.reason : reasonFromThrown(e);
      return { error: { reason, callback: 'start', application: spec.name } };
    }
    if (r instanceof Pid) this.top = r;
    else if (typeof r === 'object' && r !== null && 'ok' in r && (r).ok instanceof Pid) {
      this.top = (r as { ok: Pid }).ok;
      this.state = (r as { state?: unknown }).state;
    } else if (typeof r === 'object' && r !== null && 'error' in r) {
      return { error: { reason: (r).error, callback: 'start', application: spec.name } };
    } else {
      return { error: { badReturn: r, callback: 'start', application: spec.name } };
    }
    self.link(this.top);
    if (spec.startPhases === undefined) return 'ok';
    for (const phase of spec.startPhases) {
      if (mod.startPhase === undefined) return { error: { reason: 'undef', callback: 'startPhase', phase: phase.name, application: spec.name } };
      let p: unknown;
      try {
        p = await mod.startPhase(phase.name, startType, phase.args, self);
      } catch (e) {
        return { error: { reason: reasonFromThrown(e), callback: 'startPhase', phase: phase.name, application: spec.name } };
      }
      if (p === 'ok') continue;
      if (typeof p === 'object' && p !== null && 'error' in p) {
        return { error: { reason: (p).error, callback: 'startPhase', phase: phase.name, application: spec.name } };
      }
      return { error: { badReturnValue: p, callback: 'startPhase', phase: phase.name, application: spec.name } };
    }
    return 'ok';
  }

  /** Watches the top supervisor and waits for a stop request. */
  private async loop(self: Process): Promise<void> {
    for (;;) {
      const m = await self.receive();
      if (isExit(m) && this.top !== undefined && m.from === this.top) {
        // The tree died on its own: prepStop → stop → exit with the same reason (spec §d.5).
        await this.shutdown(self, false);
        self.exit(m.reason);
      }
      const am = (m as { $am?: string } | null)?.$am;
      if (am === 'stop' || am === 'maxT') {
        this.stopRequested ||= am === 'stop';
        await this.shutdown(self, true);
        self.exit('normal');
      }
    }
  }

  /** prepStop → shut the top supervisor down (when alive) → stop → kill the rest. */
  private async shutdown(self: Process, tree: boolean): Promise<void> {
    this.phase = 'stopping';
    if (this.maxTimer !== undefined) this.node.cancelTimer(this.maxTimer);
    const mod = this.spec.mod;
    let state = this.state;
    try {
      if (mod?.prepStop) state = await mod.prepStop(state);
    } catch (e) {
      this.report('prepStop failed', reasonFromThrown(e));
    }
    const top = this.top;
    if (tree && top !== undefined && this.node.isAlive(top)) {
      self.exit(top, 'shutdown');
      await self.receive((m) => isExit(m) && m.from === top);
    }
    try {
      if (mod?.stop) await mod.stop(state);
    } catch (e) {
      this.report('stop failed', reasonFromThrown(e));
    }
    this.killMembers(self);
  }

  /** Kills every remaining process of the application except the master itself. */
  private killMembers(self: Process | undefined): void {
    for (const p of this.node._groupMembers(this)) if (p !== self) this.node._terminate(p, 'killed');
  }

  private report(message: string, reason: ExitReason): void {
    this.node.report({ kind: 'application', message: `${this.spec.name}: ${message}`, application: this.spec.name, reason });
  }
}
