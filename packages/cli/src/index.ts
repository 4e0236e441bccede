/**
 * `rigil` — the command line, and the pieces it is made of for programs that want them
 * (start a node from a config object, read a cluster's status).
 *
 * @packageDocumentation
 * @module rigil
 */
export { main } from './main.js';
export { startFromConfig, startCommand, exposeApplicationProcedures, type StartedNode } from './start.js';
export { readConfig, checkConfig, cookieOf, type NodeConfig, type NodeSection, type ApplicationEntry } from './config.js';
export { connectHidden, clusterStatus, formatStatus, STATUS_MOVES, type ClusterStatus, type StatusMove } from './remote.js';
export { CliError, EXIT, type CliErrorCode } from './errors.js';
export { ensureTypeScriptLoader, isTypeScriptModule, type TsxApi } from './typescript.js';
