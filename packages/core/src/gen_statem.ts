/**
 * gen_statem: a process that is a state machine, with OTP's event handling (OTP's
 * `gen_statem`). It is the second behaviour on rigil's behaviour machinery: the scheduler
 * hands it one message at a time and the callbacks run directly, with no Promise per message
 * unless a callback is async (then the machine takes no new message until it settles).
 *
 * A machine has a state and data. Every event — a call, a cast, a plain message (`info`), a
 * timeout, an inserted `internal` event — goes to the callback of the current state, which
 * returns what comes next: `{ nextState, data, actions }`, `{ keepState: data }`,
 * `'keep_state_and_data'`, `{ repeatState: data }`, `{ stop: reason }`, … Two callback modes:
 * - `state_functions`: `states` holds one function per state name, `(type, content, data)`;
 * - `handle_event_function`: one `handleEvent(type, content, state, data)` for every state.
 * Either may add `state_enter`: on every state change the new state's callback first gets
 * `('enter', oldState)`.
 *
 * Actions run in order after the callback: `postpone` (retry this event after the next state
 * change), `nextEvent` (handle this event before anything in the mailbox), `reply`, and the
 * three timeouts — the event timeout (cancelled by any event), the state timeout (cancelled
 * by a state change) and generic named timeouts (cancelled only explicitly). Semantics follow
 * the engine of OTP 26–28's `gen_statem.erl` (`loop_state_callback_result`,
 * `loop_actions_list`, `loop_state_transition`, `loop_timeouts`); departures are marked where
 * they are made.
 *
 * Start with acknowledgement, `stop` and system messages (`sys`) are gen.ts's, shared with
 * every behaviour; this file supplies gen_statem's hooks for them (`GEN_STATEM` below).
 *
 * Callbacks are typed best when the behaviour is declared with its type
 * (`const m: StateFunctionsBehaviour<States, Data, Args, Protocol> = …`): the event parameters
 * are then a union of tuples, and testing `type` narrows `content`.
 *
 * @example
 * type Lock = { call: { button: number }; reply: 'locked' | 'open'; timeout: 'lock' };
 * const lock: StateFunctionsBehaviour<'locked' | 'open', number[], number[], Lock> = {
 *   callbackMode: 'state_functions',
 *   init: (code) => ({ ok: ['locked', code] }),
 *   states: {
 *     locked: (type, content, code) =>
 *       typeof type === 'object' && content.button === code[0]
 *         ? { nextState: 'open', data: code, actions: [{ reply: [type.call, 'open'] }, { stateTimeout: 10_000, content: 'lock' }] }
 *         : 'keep_state_and_data',
 *     open: (type, _content, code) => (type === 'stateTimeout' ? { nextState: 'locked', data: code } : { keepStateAndData: 'postpone' }),
 *   },
 * };
 */
import { coreError } from './errors.js';
import {
  call as genCall,
  cast as genCast,
  dataOf,
  exitReasonOf,
  From,
  handleSystem,
  isGenCall,
  isGenCast,
  isParentExit,
  requireCaller,
  requireProcess,
  start as genStart,
  terminateThenExit,
  stop as genStop,
  type Behaviour,
  type BehaviourStartOptions,
  type Caller,
} from './gen.js';
import { Pid, Ref } from './pid.js';
import type { Process } from './process.js';
import { callbackName, type BehaviourDescription, type BehaviourLoop } from './internal/process.js';
import { isQuietReason, type ExitReason } from './reason.js';
import type { Timer } from './timer.js';

export { sendRequest, waitResponse, receiveResponse, From, type Response, type RequestId } from './gen.js';

// ---------------------------------------------------------------- types

/**
 * A machine's message types: what it is called with and replies, what it is cast, the content
 * of its `internal` events and of its timeouts. Every key is optional.
 *
 * A protocol that leaves out `genericTimeout` has no generic timeouts: its callbacks never
 * see the event type `{ timeout: name }`, so `typeof type === 'object'` narrows an event to a
 * call (and its content to the call type), and a generic timeout action does not compile.
 */
export interface StatemProtocol {
  /** Requests of `call` (event type `{ call: from }`). */
  call?: unknown;
  /** Replies to calls. */
  reply?: unknown;
  /** Messages of `cast` (event type `'cast'`). */
  cast?: unknown;
  /** Content of events inserted with `nextEvent` as `'internal'`. */
  internal?: unknown;
  /** Content of event timeouts (`'timeout'`) and state timeouts (`'stateTimeout'`). */
  timeout?: unknown;
  /** Content of generic named timeouts (`{ timeout: name }`); leave out if you use none. */
  genericTimeout?: unknown;
}
type CallOf<P> = P extends { call: infer C } ? C : unknown;
type ReplyOf<P> = P extends { reply: infer R } ? R : any;
type CastOf<P> = P extends { cast: infer C } ? C : unknown;
type InternalOf<P> = P extends { internal: infer I } ? I : unknown;
type TimeoutOf<P> = P extends { timeout: infer T } ? T : unknown;
// A protocol that does not mention generic timeouts has none (see `StatemProtocol`); the
// untyped default `StatemProtocol` mentions them, as `unknown`.
type GenericTimeoutOf<P> = 'genericTimeout' extends keyof P ? P['genericTimeout' & keyof P] : never;

/** The event type of a call: the caller to reply to (OTP's `{call, From}`). */
export interface CallEventType<R = any> {
  readonly call: From<R>;
}
/** The event type of a generic timeout: its name (OTP's `{timeout, Name}`). */
export interface GenericTimeoutEventType {
  readonly timeout: string;
}
/**
 * Every event type (OTP's `event_type()`): a call, `'cast'`, `'info'` (any other message),
 * `'timeout'` (the event timeout), `'stateTimeout'`, a generic timeout, `'internal'`; and
 * `'enter'` for state enter calls.
 */
export type EventType = CallEventType | 'cast' | 'info' | 'timeout' | 'stateTimeout' | GenericTimeoutEventType | 'internal' | 'enter';

/**
 * An event as a callback receives it: `[type, content]`, typed by the protocol. Written as a
 * union of tuples so that testing `type` narrows `content`.
 */
export type StatemEvent<P = StatemProtocol> =
  | readonly [type: CallEventType<ReplyOf<P>>, content: CallOf<P>]
  | readonly [type: 'cast', content: CastOf<P>]
  | readonly [type: 'info', content: unknown]
  | readonly [type: 'timeout' | 'stateTimeout', content: TimeoutOf<P>]
  | ([GenericTimeoutOf<P>] extends [never] ? never : readonly [type: GenericTimeoutEventType, content: GenericTimeoutOf<P>])
  | readonly [type: 'internal', content: InternalOf<P>];

/** A state enter call's event: `'enter'` and the state the machine came from (OTP's `(enter, OldState, …)`). */
export type EnterEvent<S> = readonly [type: 'enter', oldState: S];

/** The time of a timeout action: ms (`0` fires before the next message, `Infinity` cancels), `'cancel'`, or `'update'` (new content, same deadline). */
export type TimeoutTime = number | 'cancel' | 'update';

/** Replies to a call (OTP's `{reply, From, Reply}`). */
export interface ReplyAction<R = any> {
  readonly reply: readonly [from: From<R>, value: R];
}

type ToNextEvent<E> = E extends readonly [infer T, infer C] ? { readonly nextEvent: T; readonly content: C } : never;
/** Inserts an event to handle before any message in the mailbox (OTP's `{next_event, Type, Content}`). */
export type NextEventAction<P = StatemProtocol> = ToNextEvent<StatemEvent<P>>;

/** Starts, restarts, updates or cancels a generic named timeout (OTP's `{{timeout, Name}, Time, Content}`). */
export type GenericTimeoutAction<P = StatemProtocol> = [GenericTimeoutOf<P>] extends [never]
  ? never
  : { readonly timeout: string; readonly ms: TimeoutTime; readonly content?: GenericTimeoutOf<P> };

/**
 * What a callback may ask for besides its state and data (OTP's `action()`). The last
 * timeout action of each kind wins.
 */
export type Action<P = StatemProtocol> =
  /** Retry this event after the next state change (OTP's `postpone`). */
  | 'postpone'
  | { readonly postpone: boolean }
  /** Accepted for OTP parity; has no effect (a rigil process has no heap to shrink). */
  | 'hibernate'
  | { readonly hibernate: boolean }
  | NextEventAction<P>
  | ReplyAction<ReplyOf<P>>
  /** The event timeout: a `'timeout'` event unless another event comes first (OTP's `{timeout, T, C}`). */
  | { readonly eventTimeout: TimeoutTime; readonly content?: TimeoutOf<P> }
  /** The state timeout: a `'stateTimeout'` event unless the state changes first (OTP's `{state_timeout, T, C}`). */
  | { readonly stateTimeout: TimeoutTime; readonly content?: TimeoutOf<P> }
  | GenericTimeoutAction<P>;

/** One action or a list of them. */
export type Actions<P = StatemProtocol> = Action<P> | readonly Action<P>[];

/**
 * What a state callback returns (OTP's `state_callback_result()`). A state enter call may not
 * change the state, postpone, or insert events.
 */
export type StateResult<S, D, P = StatemProtocol> =
  /** Go to `nextState` (maybe the same) with `data` (OTP's `{next_state, S, D, Actions}`). */
  | { readonly nextState: S; readonly data: D; readonly actions?: Actions<P> }
  /** Stay, with new data (OTP's `{keep_state, D, Actions}`). */
  | { readonly keepState: D; readonly actions?: Actions<P> }
  /** Stay, data unchanged (OTP's `keep_state_and_data`). */
  | 'keep_state_and_data'
  | { readonly keepStateAndData: Actions<P> }
  /** Stay, with new data, and run the state enter call again (OTP's `{repeat_state, D, Actions}`). */
  | { readonly repeatState: D; readonly actions?: Actions<P> }
  | 'repeat_state_and_data'
  | { readonly repeatStateAndData: Actions<P> }
  /** Stop with `normal` (OTP's `stop`). */
  | 'stop'
  /** Stop with `reason`, optionally with new data (OTP's `{stop, Reason, D}`). */
  | { readonly stop: ExitReason; readonly data?: D }
  /** Send `replies`, then stop (OTP's `{stop_and_reply, Reason, Replies, D}`). */
  | { readonly stop: ExitReason; readonly replies: readonly ReplyAction<ReplyOf<P>>[]; readonly data?: D };

type MaybeAsync<T> = T | Promise<T>;

/**
 * A state's callback in `state_functions` mode, `(type, content, data)` (OTP's
 * `Module:StateName/3`). Its parameters are a union of tuples so that testing `type` narrows
 * `content`; TypeScript then wants all three declared (or none). It gets no `self`: keep the
 * one `init` receives in the data when a state needs it.
 */
export type StateFunction<S, D, P = StatemProtocol> = (...args: [...(StatemEvent<P> | EnterEvent<S>), data: D]) => MaybeAsync<StateResult<S, D, P>>;

/**
 * The callback of `handle_event_function` mode, `(type, content, state, data)` (OTP's
 * `Module:handle_event/4`); declare all four parameters (or none), as for `StateFunction`.
 */
export type HandleEvent<S, D, P = StatemProtocol> = (...args: [...(StatemEvent<P> | EnterEvent<S>), state: S, data: D]) => MaybeAsync<StateResult<S, D, P>>;

/** What `init` returns (OTP's `{ok, State, Data, Actions} | ignore | {stop, R} | {error, R}`). */
export type StatemInitResult<S, D, P = StatemProtocol> =
  | { readonly ok: readonly [state: S, data: D, actions?: Actions<P>] }
  | 'ignore'
  | { readonly stop: ExitReason }
  /** Start returns `{ error: reason }` and the process exits `normal`, with no crash report. */
  | { readonly error: ExitReason };

/** The callbacks both modes share. */
export interface StatemCallbacks<S, D, A, P> {
  /** Sets the first state and data; runs before `start` returns (OTP's `init/1`). */
  init(args: A, self: Process): MaybeAsync<StatemInitResult<S, D, P>>;
  /** Runs when the machine stops, crashes, or (trapping exits) its parent exits (OTP's `terminate/3`). */
  terminate?(reason: ExitReason, state: S, data: D, self: Process): MaybeAsync<void>;
  /** Shapes what `sys.getStatus` shows of state and data (OTP's `format_status/1`). */
  formatStatus?(state: S, data: D): unknown;
}

/**
 * A machine in `state_functions` mode: `states` maps each state name to its callback. The
 * functions live under `states` rather than beside `init`, so no state name is reserved
 * (OTP cannot have a state named `terminate`).
 */
export interface StateFunctionsBehaviour<S extends string, D, A = undefined, P extends StatemProtocol = StatemProtocol> extends StatemCallbacks<S, D, A, P> {
  /** OTP's `callback_mode/0`. */
  readonly callbackMode: 'state_functions' | readonly ['state_functions', 'state_enter'];
  /** One callback per state. */
  readonly states: { readonly [K in S]: StateFunction<S, D, P> };
}

/** A machine in `handle_event_function` mode: one callback for every state; states may be any value. */
export interface HandleEventFunctionBehaviour<S, D, A = undefined, P extends StatemProtocol = StatemProtocol> extends StatemCallbacks<S, D, A, P> {
  /** OTP's `callback_mode/0`. */
  readonly callbackMode: 'handle_event_function' | readonly ['handle_event_function', 'state_enter'];
  /** Handles every event in every state (OTP's `handle_event/4`). */
  readonly handleEvent: HandleEvent<S, D, P>;
}

/** Either kind of machine. */
export type GenStatemBehaviour<S, D, A = undefined, P extends StatemProtocol = StatemProtocol> =
  | StateFunctionsBehaviour<S & string, D, A, P>
  | HandleEventFunctionBehaviour<S, D, A, P>;

/** OTP's `callback_mode_result()`. */
export type CallbackMode = GenStatemBehaviour<unknown, unknown>['callbackMode'];

/** A pid that knows its machine's protocol, so calls and casts to it are type-checked. */
export type StatemPid<P extends StatemProtocol = StatemProtocol> = Pid & { readonly __statem?: P };
/** A local name that knows its machine's protocol (see `statemName`). */
export type StatemName<P extends StatemProtocol = StatemProtocol> = string & { readonly __statem?: P };
/** A global name, `{ global: name }`, that knows its machine's protocol (see `globalName`). */
export type StatemGlobalName<P extends StatemProtocol = StatemProtocol> = { readonly global: string } & { readonly __statem?: P };
/** A name on a given node, `[name, node]`, that knows its machine's protocol (see `remoteName`). */
export type StatemRemoteName<P extends StatemProtocol = StatemProtocol> = readonly [name: string, node: string] & { readonly __statem?: P };
/**
 * How to address a machine of protocol `P`: pid, local name, `[name, node]` or `{ global: name }`.
 * Plain names carry no protocol (calls through them are unchecked); typed ones come from
 * `statemName`/`globalName`/`remoteName` (phantom types only, as for gen_server's names).
 */
export type StatemRef<P extends StatemProtocol = StatemProtocol> = StatemPid<P> | StatemName<P> | StatemRemoteName<P> | StatemGlobalName<P>;

/**
 * Options of `start` — gen.ts's start options: `name` (local or `{ global }`, registered
 * before `init` runs), init `timeout` (ms; past it start gives `{ error: 'timeout' }` and the
 * process is killed), `trapExit` (so a parent's exit runs `terminate`).
 */
export type StatemStartOptions<P extends StatemProtocol = StatemProtocol> = Omit<BehaviourStartOptions, 'name'> & {
  /** Register the machine under a local name, or `{ global: name }`, before `init` runs; a name declared for another protocol is a type error. */
  name?: StatemName<P> | StatemGlobalName<P>;
};

/** What `start` returns (OTP's `start_ret()`). */
export type StatemStartResult<P extends StatemProtocol = StatemProtocol> = { ok: StatemPid<P> } | { error: ExitReason } | 'ignore';

// ---------------------------------------------------------------- public API

/** Declares a typed local machine name (no runtime effect; a typing aid with no OTP counterpart, like `genServer.serverName`). */
export function statemName<P extends StatemProtocol>(name: string): StatemName<P> {
  return name;
}

/**
 * Declares a typed global machine name: returns `{ global: name }` (OTP's `{global, Name}`);
 * calls and casts through it are checked against `P`. A typing aid with no OTP counterpart.
 */
export function globalName<P extends StatemProtocol>(name: string): StatemGlobalName<P> {
  return { global: name };
}

/**
 * Declares the machine name `name` on node `node`: returns `[name, node]` (OTP's
 * `{Name, Node}`), keeping the protocol of a typed `name`. A typing aid with no OTP counterpart.
 */
export function remoteName<P extends StatemProtocol>(name: StatemName<P>, node: string): StatemRemoteName<P> {
  return [name, node];
}

/**
 * Starts a machine not linked to the caller (OTP's `gen_statem:start/3,4`). Resolves once
 * `init` has returned: `{ ok: pid }`, `'ignore'`, or `{ error: reason }` (also
 * `{ error: { alreadyStarted: pid } }` when the name is taken). A behaviour of the wrong shape
 * rejects with `ERR_BADARG`.
 */
export function start<S, D, A, P extends StatemProtocol>(
  caller: Caller,
  behaviour: GenStatemBehaviour<S, D, A, P>,
  args: A,
  options: StatemStartOptions<NoInfer<P>> = {},
): Promise<StatemStartResult<P>> {
  return startMachine('nolink', caller, behaviour, args, options, 'genStatem.start') as Promise<StatemStartResult<P>>;
}

/**
 * Starts a machine linked to the calling process (OTP's `gen_statem:start_link/3,4`). `self`
 * must be the calling process: anything else (a `Node`, say) rejects with `ERR_BADARG`; from
 * outside a process, use `start`.
 */
export function startLink<S, D, A, P extends StatemProtocol>(
  self: Process,
  behaviour: GenStatemBehaviour<S, D, A, P>,
  args: A,
  options: StatemStartOptions<NoInfer<P>> = {},
): Promise<StatemStartResult<P>> {
  return startMachine('link', self, behaviour, args, options, 'genStatem.startLink') as Promise<StatemStartResult<P>>;
}

/** Starts a machine and monitors it from the calling process (OTP's `gen_statem:start_monitor/3,4`). */
export function startMonitor<S, D, A, P extends StatemProtocol>(
  self: Process,
  behaviour: GenStatemBehaviour<S, D, A, P>,
  args: A,
  options: StatemStartOptions<NoInfer<P>> = {},
): Promise<{ ok: StatemPid<P>; ref: Ref } | { error: ExitReason } | 'ignore'> {
  return startMachine('monitor', self, behaviour, args, options, 'genStatem.startMonitor') as Promise<{ ok: StatemPid<P>; ref: Ref } | { error: ExitReason } | 'ignore'>;
}

/**
 * Calls a machine and waits for its reply (OTP's `gen_statem:call/3`); the machine sees the
 * event `({ call: from }, req)`. As in OTP the default timeout is `Infinity` (gen_server's is
 * 5000 ms). Works across nodes. Throws `CallError` (`ERR_CALL_TIMEOUT`, `ERR_CALL_NOPROC`,
 * `ERR_CALL_EXIT`, `ERR_CALL_NODEDOWN`, `ERR_CALLING_SELF`).
 */
export function call<P extends StatemProtocol>(caller: Caller, server: StatemRef<P>, req: CallOf<P>, timeoutMs = Infinity): Promise<ReplyOf<P>> {
  return genCall<ReplyOf<P>>(caller, server, req, timeoutMs);
}

/** Sends a cast, seen as the event `('cast', msg)`; always returns, whether or not the machine exists (OTP's `gen_statem:cast/2`). */
export function cast<P extends StatemProtocol>(caller: Caller, server: StatemRef<P>, msg: CastOf<P>): void {
  genCast(caller, server, msg);
}

/**
 * Replies to a call from inside or outside the machine (OTP's `gen_statem:reply/2`); given
 * reply actions, sends each (OTP's `gen_statem:reply/1`).
 */
export function reply<R>(from: From<R>, value: R): void;
export function reply(replies: ReplyAction | readonly ReplyAction[]): void;
export function reply(a: unknown, value?: unknown): void {
  if (a instanceof From) {
    a.reply(value);
    return;
  }
  for (const r of (Array.isArray(a) ? a : [a]) as unknown[]) {
    const from = replyTarget(r);
    if (from === undefined) throw coreError('ERR_BADARG', `not a reply action: ${String(r)}`);
    from[0].reply(from[1]);
  }
}

/**
 * Stops a machine: it runs `terminate(reason)` and exits; resolves once it is gone
 * (OTP's `gen_statem:stop/3`). Unknown machine: `CallError` `ERR_CALL_NOPROC`.
 */
export function stop(caller: Caller, server: StatemRef, reason: ExitReason = 'normal', timeoutMs = Infinity): Promise<'ok'> {
  return genStop(caller, server, reason, timeoutMs);
}

// ---------------------------------------------------------------- the machine

/** An event as the machine queues it (OTP's `{Type, Content}`). */
type Ev = readonly [type: unknown, content: unknown];

/** The event `init`'s actions are applied to; it is consumed, never handled (OTP's `{internal, init_state}`). */
const INIT_EVENT: Ev = ['internal', 'init_state'];

/** A live machine's record (the behaviour state of its process). */
class Machine {
  /** The callback module. */
  readonly behaviour: AnyBehaviour;
  /** `handle_event_function` mode (else `state_functions`). */
  readonly handleEventMode: boolean;
  /** State enter calls are on. */
  readonly stateEnter: boolean;
  /** The process that started the machine (its parent): its `EXIT` stops the machine. */
  readonly parent: Pid;
  /** The current state. */
  state: unknown = undefined;
  /** The current data. */
  data: unknown = undefined;
  /** Postponed events, oldest first; retried after the next state change. */
  postponed: Ev[] = [];
  /** Events to handle before the mailbox — inserted and retried ones — as a stack: the next one is last. */
  queue: Ev[] = [];
  /** Running timeouts by kind (`timeout`, `stateTimeout`, or `g:` + a generic name); OTP's `timers`. */
  readonly timers = new Map<string, TimeoutEntry>();
  /** Zero-time timeouts, in order: fired once `queue` is empty, before the mailbox (OTP's `t0q`). */
  zero: TimeoutEntry[] = [];
  /** The event being handled, for the crash report. */
  lastEvent: Ev | undefined = undefined;
  /** Set once the machine is terminating: no further event is handled. */
  done = false;
  /** The arguments of `init`, kept until init has run. */
  args: unknown;

  constructor(behaviour: AnyBehaviour, mode: { handleEvent: boolean; stateEnter: boolean }, args: unknown, parent: Pid) {
    this.behaviour = behaviour;
    this.handleEventMode = mode.handleEvent;
    this.stateEnter = mode.stateEnter;
    this.args = args;
    this.parent = parent;
  }
}

type AnyBehaviour = StatemCallbacks<unknown, unknown, unknown, StatemProtocol> & {
  readonly callbackMode: unknown;
  readonly states?: Record<string, (...args: unknown[]) => unknown>;
  readonly handleEvent?: (...args: unknown[]) => unknown;
};

/**
 * A running timeout. The timer service calls back with the entry, which is then delivered to
 * the machine's own mailbox; it counts only while it is still the machine's entry for its
 * kind, so a cancelled timer whose message is already queued is dropped (OTP flushes it).
 */
class TimeoutEntry {
  constructor(
    /** `timeout`, `stateTimeout`, or `g:` + the generic name. */
    readonly key: string,
    /** The event type it fires as. */
    readonly type: unknown,
    /** The event content (an `update` action changes it). */
    public content: unknown,
    /** The machine's process. */
    readonly owner: Process,
  ) {}
  /** The timer, or undefined for a zero-time timeout waiting in `Machine.zero`. */
  timer: Timer | undefined = undefined;
}

/** The collected outcome of one event's callbacks (OTP's loop variables `NextEventsR`, `TimeoutsR`, `Postpone`). */
interface Step {
  /** The event being handled. */
  readonly event: Ev;
  /** False during a state enter call (OTP's `StateCall`). */
  stateCall: boolean;
  /** The state and data the transition goes to. */
  nextState: unknown;
  nextData: unknown;
  /** Events to insert, in action order. */
  readonly nextEvents: Ev[];
  /** Timeout actions, in action order (the last of each kind wins). */
  readonly timeouts: TimeoutRequest[];
  /** Postpone the event. */
  postpone: boolean;
  /** `nextState`/`nextData` are chosen: a failure from here on leaves the machine in them (OTP terminates with `NextState_NewData`). */
  chosen: boolean;
}

interface TimeoutRequest {
  readonly key: string;
  readonly type: unknown;
  readonly time: number | 'cancel' | 'update';
  readonly content: unknown;
}

/** Thrown inside the engine to stop the machine with a structured reason. */
class Fail {
  constructor(readonly reason: ExitReason) {}
}

const LOOP: BehaviourLoop = {
  // For introspection only (processStats).
  describe(data: unknown): BehaviourDescription {
    const m = data as Machine;
    return { behaviour: 'gen_statem', module: callbackName(m.behaviour), state: [m.state, m.data] };
  },
  handle(self: Process, msg: unknown): void | PromiseLike<void> {
    const m = dataOf<Machine>(self);
    if (m.done) return;
    if (isGenCall(msg)) {
      if (msg.$gen === 'system') return handleSystem(self, m, GEN_STATEM, msg);
      return drain(self, m, [{ call: new From(self.node, msg.pid, msg.tag) } satisfies CallEventType, msg.req]);
    }
    if (isGenCast(msg)) return drain(self, m, ['cast', msg.msg]);
    if (msg instanceof TimeoutEntry) {
      if (m.timers.get(msg.key) !== msg) return; // cancelled or replaced after it fired
      m.timers.delete(msg.key);
      return drain(self, m, [msg.type, msg.content]);
    }
    // OTP: an EXIT from the parent (seen only when trapping) ends the machine through terminate.
    if (isParentExit(self, m.parent, msg)) return finish(self, m, msg.reason);
    return drain(self, m, ['info', msg]);
  },
};

/** Handles `ev`, then every queued event and zero-time timeout, until only the mailbox is left (OTP's `loop_done`). */
function drain(self: Process, m: Machine, ev: Ev | undefined): void | Promise<void> {
  while (ev !== undefined) {
    const r = handleOne(self, m, ev);
    if (r !== undefined) return r.then(() => drain(self, m, nextQueued(self, m)));
    ev = nextQueued(self, m);
  }
}

function nextQueued(self: Process, m: Machine): Ev | undefined {
  if (m.done || !self.alive) return undefined;
  const ev = m.queue.pop();
  if (ev !== undefined) return ev;
  const z = m.zero.shift();
  if (z === undefined) return undefined;
  m.timers.delete(z.key);
  return [z.type, z.content];
}

function handleOne(self: Process, m: Machine, ev: Ev): void | Promise<void> {
  m.lastEvent = ev;
  const step: Step = { event: ev, stateCall: true, nextState: m.state, nextData: m.data, nextEvents: [], timeouts: [], postpone: false, chosen: false };
  return callback(self, m, step, ev[0], ev[1]);
}

/** Runs the state callback (or, when `step.stateCall` is false, the state enter call) and applies its result. */
function callback(self: Process, m: Machine, step: Step, type: unknown, content: unknown): void | Promise<void> {
  const state = step.stateCall ? m.state : step.nextState;
  const data = step.stateCall ? m.data : step.nextData;
  let r: unknown;
  try {
    r = invoke(m, type, content, state, data);
  } catch (e) {
    return crash(self, m, e);
  }
  if (r instanceof Promise) {
    return r.then(
      (v: unknown) => result(self, m, step, v),
      (e: unknown) => crash(self, m, e),
    );
  }
  return result(self, m, step, r);
}

function invoke(m: Machine, type: unknown, content: unknown, state: unknown, data: unknown): unknown {
  const b = m.behaviour;
  if (m.handleEventMode) return b.handleEvent!(type, content, state, data);
  const states = b.states!;
  const f = typeof state === 'string' && Object.hasOwn(states, state) ? states[state] : undefined;
  // OTP would fail with `undef` calling a missing Module:State/3.
  if (typeof f !== 'function') throw new Fail({ undefinedStateFunction: state });
  return f.call(states, type, content, data);
}

/** Applies a callback's result (OTP's `loop_state_callback_result`). */
function result(self: Process, m: Machine, step: Step, r: unknown): void | Promise<void> {
  if (!self.alive || m.done) return; // killed, or stopped, while its callback ran
  try {
    return applyResult(self, m, step, r);
  } catch (e) {
    // OTP's terminate sees the state and data the bad result or action came with, and after a
    // state enter call the new state.
    if (step.chosen || !step.stateCall) {
      m.state = step.nextState;
      m.data = step.nextData;
    }
    return crash(self, m, e);
  }
}

function applyResult(self: Process, m: Machine, step: Step, r: unknown): void | Promise<void> {
  // The state and data the callback ran with: the current ones, or in an enter call the new ones.
  const state = step.stateCall ? m.state : step.nextState;
  const data = step.stateCall ? m.data : step.nextData;
  const bad = (): never => {
    throw new Fail({ badReturnFromStateFunction: r });
  };
  if (r === 'keep_state_and_data') return proceed(self, m, step, state, data, undefined, false);
  if (r === 'repeat_state_and_data') return proceed(self, m, step, state, data, undefined, true);
  if (r === 'stop') return stopWith(self, m, state, data, 'normal', undefined);
  if (typeof r !== 'object' || r === null) return bad();
  const o = r as Record<string, unknown>;
  if ('nextState' in o) {
    if (!('data' in o)) return bad();
    if (sameTerm(o.nextState, state)) return proceed(self, m, step, state, o.data, o.actions, false);
    // OTP: a state enter call may not change the state.
    if (!step.stateCall) throw new Fail({ badStateEnterReturnFromStateFunction: r });
    return proceed(self, m, step, o.nextState, o.data, o.actions, true);
  }
  if ('keepState' in o) return proceed(self, m, step, state, o.keepState, o.actions, false);
  if ('keepStateAndData' in o) return proceed(self, m, step, state, data, o.keepStateAndData, false);
  if ('repeatState' in o) return proceed(self, m, step, state, o.repeatState, o.actions, true);
  if ('repeatStateAndData' in o) return proceed(self, m, step, state, data, o.repeatStateAndData, true);
  if ('stop' in o) {
    const d = 'data' in o ? o.data : data;
    if ('replies' in o) return stopWith(self, m, state, d, o.stop, o.replies);
    return stopWith(self, m, state, d, o.stop, undefined);
  }
  return bad();
}

/** Runs the actions, then the state enter call or the transition (OTP's `loop_actions_list`). */
function proceed(self: Process, m: Machine, step: Step, state: unknown, data: unknown, actions: unknown, callEnter: boolean): void | Promise<void> {
  step.nextState = state;
  step.nextData = data;
  step.chosen = true;
  if (actions !== undefined) {
    for (const a of (Array.isArray(actions) ? actions : [actions]) as unknown[]) action(step, a);
  }
  if (callEnter && m.stateEnter) {
    step.stateCall = false;
    return callback(self, m, step, 'enter', m.state);
  }
  transition(self, m, step);
}

function action(step: Step, a: unknown): void {
  const badAction = (): never => {
    throw new Fail({ badActionFromStateFunction: a });
  };
  // OTP: an enter call may not postpone nor insert events.
  const badEnterAction = (): never => {
    throw new Fail({ badStateEnterActionFromStateFunction: a });
  };
  if (a === 'postpone') {
    if (!step.stateCall) badEnterAction();
    step.postpone = true;
    return;
  }
  if (a === 'hibernate') return;
  if (typeof a !== 'object' || a === null) return badAction();
  const o = a as Record<string, unknown>;
  if ('reply' in o) {
    const r = replyTarget(o);
    if (r === undefined) return badAction();
    r[0].reply(r[1]);
  } else if ('postpone' in o) {
    if (typeof o.postpone !== 'boolean') return badAction();
    if (o.postpone && !step.stateCall) badEnterAction();
    step.postpone = o.postpone;
  } else if ('hibernate' in o) {
    if (typeof o.hibernate !== 'boolean') badAction();
  } else if ('nextEvent' in o) {
    if (!isEventType(o.nextEvent)) return badAction();
    if (!step.stateCall) badEnterAction();
    step.nextEvents.push([o.nextEvent, o.content]);
  } else if ('eventTimeout' in o) {
    step.timeouts.push({ key: 'timeout', type: 'timeout', time: timeoutTime(o.eventTimeout, badAction), content: o.content });
  } else if ('stateTimeout' in o) {
    step.timeouts.push({ key: 'stateTimeout', type: 'stateTimeout', time: timeoutTime(o.stateTimeout, badAction), content: o.content });
  } else if ('timeout' in o && typeof o.timeout === 'string' && 'ms' in o) {
    const type: GenericTimeoutEventType = { timeout: o.timeout };
    step.timeouts.push({ key: `g:${o.timeout}`, type, time: timeoutTime(o.ms, badAction), content: o.content });
  } else badAction();
}

function timeoutTime(t: unknown, bad: () => never): number | 'cancel' | 'update' {
  if (t === 'cancel' || t === 'update') return t;
  if (typeof t === 'number' && t >= 0) return t; // NaN fails `>= 0`
  return bad();
}

function isEventType(t: unknown): boolean {
  if (t === 'cast' || t === 'info' || t === 'timeout' || t === 'stateTimeout' || t === 'internal') return true;
  if (typeof t !== 'object' || t === null) return false;
  const o = t as Record<string, unknown>;
  return o.call instanceof From || typeof o.timeout === 'string';
}

function replyTarget(a: unknown): readonly [From, unknown] | undefined {
  const r = (a as { reply?: unknown } | null)?.reply;
  if (!Array.isArray(r) || r.length !== 2 || !(r[0] instanceof From)) return undefined;
  return r as unknown as readonly [From, unknown];
}

/** The state transition (OTP's `loop_state_transition`, `loop_keep_state`, `loop_state_change`, `loop_timeouts`, `loop_done`). */
function transition(self: Process, m: Machine, step: Step): void {
  if (step.postpone) m.postponed.push(step.event);
  if (!sameTerm(step.nextState, m.state)) {
    // A state change retries the postponed events first, oldest first, and ends the state timeout.
    for (let i = 0; i < m.postponed.length; i++) m.queue.push(m.postponed[m.postponed.length - 1 - i]!);
    m.postponed = [];
    cancelTimeout(self, m, 'stateTimeout');
  }
  // Any event ends the event timeout.
  cancelTimeout(self, m, 'timeout');
  m.state = step.nextState;
  m.data = step.nextData;
  if (step.timeouts.length > 0) startTimeouts(self, m, step.timeouts);
  // Inserted events go before everything queued, the first inserted first.
  for (let i = step.nextEvents.length - 1; i >= 0; i--) m.queue.push(step.nextEvents[i]!);
}

function startTimeouts(self: Process, m: Machine, requests: readonly TimeoutRequest[]): void {
  const seen = new Set<string>();
  const zeros: TimeoutEntry[] = [];
  // Newest first, so the last action of each kind wins.
  for (let i = requests.length - 1; i >= 0; i--) {
    const t = requests[i]!;
    if (seen.has(t.key)) continue;
    seen.add(t.key);
    const old = m.timers.get(t.key);
    if (t.time === 'cancel' || t.time === Infinity) {
      if (old !== undefined) dropTimeout(self, m, old);
      continue;
    }
    if (t.time === 'update' && old !== undefined) {
      old.content = t.content;
      continue;
    }
    if (old !== undefined) dropTimeout(self, m, old);
    const entry = new TimeoutEntry(t.key, t.type, t.content, self);
    // OTP: a zero time (and an update of a timeout that is not running) fires before the next message, with no timer.
    if (t.time === 'update' || t.time === 0) zeros.unshift(entry);
    else entry.timer = self.node.timers.schedule(t.time, fireTimeout, entry);
    m.timers.set(t.key, entry);
  }
  for (const z of zeros) m.zero.push(z);
}

function fireTimeout(entry: TimeoutEntry): void {
  if (entry.owner.alive) entry.owner.node.send(entry.owner.pid, entry);
}

function cancelTimeout(self: Process, m: Machine, key: string): void {
  const e = m.timers.get(key);
  if (e !== undefined) dropTimeout(self, m, e);
}

function dropTimeout(self: Process, m: Machine, e: TimeoutEntry): void {
  m.timers.delete(e.key);
  if (e.timer !== undefined) self.node.timers.drop(e.timer);
  else {
    const i = m.zero.indexOf(e);
    if (i >= 0) m.zero.splice(i, 1);
  }
}

/** A stop result: replies first, then terminate (OTP's `reply_then_terminate`). */
function stopWith(self: Process, m: Machine, state: unknown, data: unknown, reason: ExitReason, replies: unknown): void | Promise<void> {
  m.state = state;
  m.data = data;
  if (replies !== undefined) {
    for (const r of (Array.isArray(replies) ? replies : [replies]) as unknown[]) {
      const target = replyTarget(r);
      if (target === undefined) return finish(self, m, { badReplyActionFromStateFunction: r });
      target[0].reply(target[1]);
    }
  }
  return finish(self, m, reason);
}

function crash(self: Process, m: Machine, e: unknown): void | Promise<void> {
  if (e instanceof Fail) return finish(self, m, e.reason);
  // `self.exit(reason)` inside a callback ends the machine through terminate (OTP catches exit/1).
  return finish(self, m, exitReasonOf(e));
}

/** Runs `terminate` and exits with `reason` (OTP's `gen_statem:terminate/7`). */
function finish(self: Process, m: Machine, reason: ExitReason): void | Promise<void> {
  if (m.done || !self.alive) return;
  m.done = true;
  for (const e of [...m.timers.values()]) dropTimeout(self, m, e);
  if (!isQuietReason(reason)) {
    self.node.report({
      kind: 'gen_statem',
      pid: self.pid,
      name: self.registeredName,
      message: 'gen_statem terminating',
      reason,
      state: m.state,
      lastEvent: m.lastEvent,
      postponed: m.postponed.length,
    });
  }
  const b = m.behaviour;
  return terminateThenExit(self, reason, b.terminate && (() => b.terminate!(reason, m.state, m.data, self)));
}

/**
 * Term equality for states (OTP's `=:=`): primitives by value, pids and refs by identity of
 * their parts, arrays and plain objects element by element. Two states that print the same
 * are the same state, so a handle_event_function machine may use tuples or records.
 */
function sameTerm(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
  }
  if (a instanceof Pid || a instanceof Ref) return a.equals(b);
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameTerm(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b) || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const proto: unknown = Object.getPrototypeOf(a);
  if (proto !== Object.prototype && proto !== null) return false; // other class instances: identity only
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!Object.hasOwn(b, k) || !sameTerm((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

// ---------------------------------------------------------------- start

/** The callback mode of a behaviour, or undefined when it is malformed (OTP's `callback_mode_result/6`). */
function parseMode(b: AnyBehaviour): { handleEvent: boolean; stateEnter: boolean } | undefined {
  const cm = b.callbackMode;
  let mode: string | undefined;
  let stateEnter = false;
  for (const x of Array.isArray(cm) ? (cm as unknown[]) : [cm]) {
    if (x === 'state_functions' || x === 'handle_event_function') mode = x;
    else if (x === 'state_enter') stateEnter = true;
    else return undefined;
  }
  if (mode === 'state_functions' && (typeof b.states !== 'object' || b.states === null)) return undefined;
  if (mode === 'handle_event_function' && typeof b.handleEvent !== 'function') return undefined;
  return mode === undefined ? undefined : { handleEvent: mode === 'handle_event_function', stateEnter };
}

/** gen_statem as a behaviour of gen.ts: its loop, init, and the hooks `sys` uses (state is `[state, data]`). */
const GEN_STATEM: Behaviour<Machine> = {
  module: 'gen_statem',
  loop: LOOP,
  init(self, m) {
    const args = m.args;
    m.args = undefined;
    const r = m.behaviour.init(args, self);
    return r instanceof Promise ? r.then((v: unknown) => initAck(m, v)) : initAck(m, r);
  },
  enter: (self, m, ack) => enterLoop(self, m, (ack.ok as readonly unknown[])[2]),
  // OTP's `system_get_state/1` and `system_replace_state/2` of gen_statem.
  getState: (m) => [m.state, m.data],
  replaceState(m, fn) {
    const next = fn([m.state, m.data]);
    // Checked before anything changes: a bad answer leaves the machine alone (gen.ts replies `SystemCallbackFailed`).
    if (!Array.isArray(next) || next.length !== 2) throw coreError('ERR_BADARG', 'replaceState of a gen_statem must return [state, data]');
    m.state = next[0];
    m.data = next[1];
    return [m.state, m.data];
  },
  getStatus: (m) => (m.behaviour.formatStatus ? m.behaviour.formatStatus(m.state, m.data) : [m.state, m.data]),
  terminate: (self, m, reason) => finish(self, m, reason),
};

function startMachine<S, D, A, P extends StatemProtocol>(
  mode: 'nolink' | 'link' | 'monitor',
  caller: Caller,
  behaviour: GenStatemBehaviour<S, D, A, P>,
  args: A,
  options: StatemStartOptions,
  api: string,
): Promise<unknown> {
  const b = behaviour as unknown as AnyBehaviour;
  let cbMode: { handleEvent: boolean; stateEnter: boolean } | undefined;
  try {
    if (mode === 'nolink') requireCaller(caller, api);
    else requireProcess(caller, api);
    cbMode = typeof b === 'object' && b !== null && typeof b.init === 'function' ? parseMode(b) : undefined;
    if (cbMode === undefined) {
      throw coreError(
        'ERR_BADARG',
        "bad gen_statem behaviour: it needs init(), a callbackMode of 'state_functions' (with states) or 'handle_event_function' (with handleEvent), optionally with 'state_enter'",
        { badReturnFromCallbackMode: typeof b === 'object' && b !== null ? b.callbackMode : b },
      );
    }
  } catch (e) {
    return Promise.reject(e);
  }
  const parsed = cbMode;
  // One call for every mode (the overloads only type the result); an inline arrow (see gen_server's startServer).
  return genStart(mode as 'link', caller, GEN_STATEM, (parent: Pid) => new Machine(b, parsed, args, parent), options, api);
}

/** Maps `init`'s result onto gen.ts's start acknowledgement (OTP's `init_result/8`); on success, sets the first state and data. */
function initAck(m: Machine, r: unknown): unknown {
  if (r === 'ignore') return r;
  if (typeof r === 'object' && r !== null) {
    const o = r as Record<string, unknown>;
    if ('ok' in o && Array.isArray(o.ok) && o.ok.length >= 2 && o.ok.length <= 3) {
      m.state = o.ok[0];
      m.data = o.ok[1];
      return o; // `enter` gets it back and applies `o.ok[2]`, the actions
    }
    if ('stop' in o) return { stop: o.stop };
    // OTP: `{error, R}` is a silent failure: no crash report, the process exits normal (gen.ts's start).
    if ('error' in o) return { error: o.error };
  }
  return { stop: { badReturnFromInit: r } };
}

/**
 * Enters the loop after a successful init (OTP's `enter/8`): `init`'s actions are applied to
 * a fake event, with the state enter call of the first state (its old state is itself).
 * Postpone is forced off, as OTP appends `{postpone, false}`.
 */
function enterLoop(self: Process, m: Machine, actions: unknown): void | Promise<void> {
  m.lastEvent = INIT_EVENT;
  const step: Step = { event: INIT_EVENT, stateCall: true, nextState: m.state, nextData: m.data, nextEvents: [], timeouts: [], postpone: false, chosen: false };
  let r: void | Promise<void>;
  try {
    const list = actions === undefined ? [] : Array.isArray(actions) ? [...(actions as unknown[])] : [actions];
    list.push({ postpone: false });
    r = proceed(self, m, step, m.state, m.data, list, true);
  } catch (e) {
    r = crash(self, m, e);
  }
  if (r !== undefined) return r.then(() => drain(self, m, nextQueued(self, m)));
  return drain(self, m, nextQueued(self, m));
}
