/**
 * toliman, ported to rigil: `proxima` runs once in the cluster and hands its state over on
 * takeover; `centauri` runs on every node and keeps talking to wherever proxima is.
 */
export { proxima, proximaSup } from './proxima_app.js';
export { centauri, centauriSup } from './centauri_app.js';
export { proximaServer, fetchState, getState, hello, pong, type ProximaState } from './proxima.js';
export { centauriServer, type CentauriState } from './centauri.js';
