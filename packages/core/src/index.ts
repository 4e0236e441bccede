/**
 * @rigil/core — processes, links, monitors, exit signals, registry, timers and gen_server,
 * with OTP's semantics (see the repository's spec). No I/O: the network plugs in through
 * `RemoteRouter`/`RemoteHost` (`node.attach`) and `GlobalNames`.
 *
 * @packageDocumentation
 * @module @rigil/core
 */
export { Node, isProcess, type NodeOptions, type ProcessInfo, type GlobalNames, type StopHook } from './node.js';
export {
  TIMEOUT,
  ProcessExited,
  type Process,
  type Timeout,
  type Matcher,
  type ProcessFunction,
  type ProcessStatus,
  type Destination,
  type MonitorTarget,
  type SpawnOptions,
  type MonitorHandler,
  type AliasHandler,
} from './process.js';
export type { RemoteRouter, RemoteHost } from './remote.js';
export { Pid, Ref, isPid, isRef } from './pid.js';
export {
  isDown,
  isExit,
  isQuietReason,
  isShutdownReason,
  isErrorReason,
  reasonFromThrown,
  formatReason,
  type ExitReason,
  type ErrorReason,
  type ShutdownReason,
  type DownMessage,
  type ExitMessage,
} from './reason.js';
export { RealClock, SimulatedClock, settle, type Clock } from './clock.js';
export { SeededRandom, cryptoRandom, type Random } from './random.js';
export { Timer } from './timer.js';
export { RigilError, CallError, hasCode, type CoreErrorCode } from './errors.js';
export { okPid, assertStarted, isStarted, startError, alreadyStarted, type AnyStartResult, type StartedOf, type PidOf, type StartErrorOf } from './start_result.js';
export { logger, setLogWriter, type Report, type ReportHandler, type LogWriter, type LogLineInfo } from './logger.js';
export { From, type Caller, type ServerRef as AnyServerRef, type GenCallMessage, type GenCastMessage, isGenCall, isGenCast } from './gen.js';
export * as genServer from './gen_server.js';
export type { GenServerBehaviour, ServerPid, ServerName, GlobalName, RemoteName, ServerRef, Protocol, InitResult, CallResult, NoReplyResult, StartResult, StartOptions, After } from './gen_server.js';
export { serverName, globalName, remoteName } from './gen_server.js';
export * as genStatem from './gen_statem.js';
export type {
  GenStatemBehaviour,
  StateFunctionsBehaviour,
  HandleEventFunctionBehaviour,
  StatemCallbacks,
  StateFunction,
  HandleEvent,
  StateResult,
  StatemInitResult,
  StatemProtocol,
  StatemPid,
  StatemName,
  StatemGlobalName,
  StatemRemoteName,
  StatemRef,
  StatemStartOptions,
  StatemStartResult,
  StatemEvent,
  EnterEvent,
  EventType,
  CallEventType,
  GenericTimeoutEventType,
  CallbackMode,
  Action,
  Actions,
  ReplyAction,
  NextEventAction,
  GenericTimeoutAction,
  TimeoutTime,
} from './gen_statem.js';
export * as sys from './sys.js';
export * as supervisor from './supervisor.js';
export type { SupervisorBehaviour, ChildSpec, FullChildSpec, SupFlags, Strategy, RestartType, Shutdown, ChildType, ChildId, ChildInfo, ChildCounts, SupervisorInit, ChildStart, ChildStartResult, StartChildResult } from './supervisor.js';
export { ApplicationController } from './application_controller.js';
export type { ApplicationSpec, ApplicationModule, ApplicationStartResult, StartType, RestartType as AppRestartType, StartPhase, ApplicationInfo, EnvOptions, AppResult, DistributedController } from './application.js';
export { checkApplicationSpec } from './application.js';
export { processStats, allProcessStats, type ProcessStats } from './introspect.js';
