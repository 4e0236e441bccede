/**
 * The application master (OTP's `application_master`): one per running application.
 *
 * Like OTP's, it is two processes. The master owns the application's processes (every process
 * spawned inside the application belongs to it, as OTP's group leader), takes stop requests
 * and the maxT timeout, and kills whatever processes of the application are left at the end.
 * Its helper (OTP's process "X": `start_it/4` then `loop_it/4`), a linked child that traps
 * exits, runs `start` and the start phases, is the top supervisor's parent, and runs the
 * callbacks at the end: `prepStop`, shutting the tree down, `stop`.
 *
 * OTP splits the roles for two reasons. The master is the group leader and must keep serving
 * io while `start` runs (rigil has no io, so that one does not apply). And the callbacks run
 * in a process other than the master, so that killing the master still stops the application
 * properly: the helper sees the master's `EXIT`, runs `prepStop`, shuts the tree down with the
 * master's reason, runs `stop`, and exits with that reason ([AM] `loop_it/4`'s
 * `{'EXIT', Parent, Reason}` clause; application_SUITE:otp_16504). With one process, killing
 * the master took the tree down through its link and `stop` never ran.
 * Semantics: spec §d.4–§d.5.
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

/**
 * A message between a master and its helper; `tag` is the master's own object, so nothing
 * else can forge one (OTP uses a fresh ref, `Tag`, and the parent's pid).
 */
interface HelperMessage {
  readonly tag: object;
  /** `started`: helper → master, the outcome of `start` and the phases (OTP's `{Tag, Res}`);
   * `terminate`: master → helper, stop the application (OTP's `{Parent, terminate}`). */
  readonly kind: 'started' | 'terminate';
  readonly result?: 'ok' | { error: unknown };
}

/** One running (or starting) application. */
export class ApplicationMaster {
  /** Where the master is in its lifecycle; `startType()` reads it. */
  phase: MasterPhase = 'starting';
  /** The master's process. */
  pid: Pid | undefined = undefined;
  /** The helper process that runs `start` and the stop callbacks (OTP's "X"). */
  helper: Pid | undefined = undefined;
  /** The top supervisor. */
  top: Pid | undefined = undefined;
  /** The state returned by `start` (passed to `prepStop`/`stop`). */
  state: unknown = undefined;
  /** Set when the controller asked for the stop (the exit is then expected). */
  stopRequested = false;
  /** When the application finished starting (ms since the epoch). */
  startedAt = 0;
  private maxTimer: Timer | undefined = undefined;
  /** Marks the messages between this master and its helper (see `HelperMessage`). */
  private readonly tag: object = {};

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
        // OTP's start_it/2: the helper is spawned linked, trapping exits from birth (spawn
        // and link happen in one turn, so no signal can come between them), and belongs to
        // the application like every process the master spawns.
        const master = self.pid;
        const helper = self.spawn((x) => this.runHelper(x, master), { trapExit: true });
        self.link(helper);
        this.helper = helper;
        const r = await this.awaitStarted(self, helper);
        if (r !== 'ok') {
          this.killMembers(self);
          done(r);
          self.exit('normal');
        }
        this.phase = 'running';
        this.startedAt = Date.now();
        if (this.spec.maxT !== undefined) this.maxTimer = this.node.sendAfter(this.spec.maxT, self.pid, { $am: 'maxT' });
        done('ok');
        await this.loop(self, helper);
      });
      this.pid = pid;
      // The master itself may die while starting (something killed it): the start fails with
      // that reason, and every process of the application, the helper included, is killed.
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

  /**
   * The master while the helper starts the application (OTP's `init_loop/4`): the helper's
   * `started` message, or its exit, which fails the start with the helper's reason.
   */
  private async awaitStarted(self: Process, helper: Pid): Promise<'ok' | { error: unknown }> {
    const m = await self.receive((x) => this.isHelperMessage(x, 'started') || (isExit(x) && x.from === helper) || (x as { $am?: string } | null)?.$am === 'stop');
    if (isExit(m)) return { error: { reason: m.reason, callback: 'start', application: this.spec.name } };
    // A stop while starting (OTP's init_loop/4 hands it to handle_msg/2: terminate, exit
    // normal): the start fails, and the caller kills the helper and every member.
    if ((m as { $am?: string }).$am === 'stop') return { error: { reason: 'stopped', callback: 'start', application: this.spec.name } };
    return (m as HelperMessage).result ?? 'ok';
  }

  /**
   * The master while the application runs (OTP's `main_loop/2` and `terminate/2`): a stop
   * request or maxT has the helper stop the application, then the master kills what is left
   * and exits `normal`; the helper's exit (the tree died, and the helper has already run
   * `prepStop` and `stop`) makes the master kill what is left and exit with the same reason.
   */
  private async loop(self: Process, helper: Pid): Promise<void> {
    for (;;) {
      const m = await self.receive();
      if (isExit(m) && m.from === helper) {
        this.killMembers(self);
        self.exit(m.reason);
      }
      const am = (m as { $am?: string } | null)?.$am;
      if (am === 'stop' || am === 'maxT') {
        this.stopRequested ||= am === 'stop';
        // OTP's terminate_child/2 and terminate_loop/2: ask, then wait for the helper to go.
        self.send(helper, { tag: this.tag, kind: 'terminate' } satisfies HelperMessage);
        await self.receive((x) => isExit(x) && x.from === helper);
        this.killMembers(self);
        self.exit('normal');
      }
    }
  }

  /**
   * The helper (OTP's process "X": `start_it/4`, then `loop_it/4`): starts the application,
   * tells the master, then waits for the end and runs the stop callbacks:
   * - `terminate` from the master (a stop, or maxT): prepStop → tree shut down with `shutdown`
   *   → stop → exit `normal`;
   * - the master died (e.g. it was killed): prepStop → tree shut down with the master's
   *   reason → stop → exit with that reason;
   * - the tree died on its own: prepStop → stop → exit with the tree's reason (spec §d.5).
   */
  private async runHelper(self: Process, master: Pid): Promise<void> {
    const r = await this.startApplication(self);
    self.send(master, { tag: this.tag, kind: 'started', result: r } satisfies HelperMessage);
    if (r !== 'ok') return;
    for (;;) {
      const m = await self.receive();
      if (this.isHelperMessage(m, 'terminate')) {
        await this.shutdown(self, { reason: 'shutdown' });
        self.exit('normal');
      }
      if (isExit(m) && m.from === master) {
        await this.shutdown(self, { reason: m.reason });
        // Departure from OTP: with its master dead, OTP leaves the application's other
        // processes running (their group leader is gone, and nothing kills them). rigil kills
        // them, as at every other end of an application, so that no process stays counted as
        // belonging to an application that is no longer running.
        this.killMembers(self);
        self.exit(m.reason);
      }
      if (isExit(m) && this.top !== undefined && m.from === this.top) {
        await this.shutdown(self, null);
        self.exit(m.reason);
      }
    }
  }

  private isHelperMessage(m: unknown, kind: HelperMessage['kind']): boolean {
    return typeof m === 'object' && m !== null && (m as HelperMessage).tag === this.tag && (m as HelperMessage).kind === kind;
  }

  /**
   * prepStop → shut the top supervisor down with `tree.reason` (when `tree` is given and the
   * tree is alive) and wait for it → stop. Runs in the helper, the top supervisor's parent.
   */
  private async shutdown(self: Process, tree: { readonly reason: ExitReason } | null): Promise<void> {
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
    if (tree !== null && top !== undefined && this.node.isAlive(top)) {
      self.exit(top, tree.reason);
      await self.receive((m) => isExit(m) && m.from === top);
    }
    try {
      if (mod?.stop) await mod.stop(state);
    } catch (e) {
      this.report('stop failed', reasonFromThrown(e));
    }
  }

  /** Kills every remaining process of the application except `self` (the master, or the helper). */
  private killMembers(self: Process | undefined): void {
    for (const p of this.node._groupMembers(this)) if (p !== self) this.node._terminate(p, 'killed');
  }

  private report(message: string, reason: ExitReason): void {
    this.node.report({ kind: 'application', message: `${this.spec.name}: ${message}`, application: this.spec.name, reason });
  }
}
