/**
 * `kernel_sup`: the supervisor of a distributed node's system servers (OTP's `kernel_sup`,
 * started by `kernel.erl`). `DistNode.start` starts it with `rex` (rpc) and the global name
 * server as children; @rigil/dist-ac adds `dist_ac` under it with `addKernelChild`.
 *
 * Restart policy — a departure from OTP, on purpose. OTP's `kernel_sup` is `one_for_all` with
 * intensity 0 (period 1 s): the death of any system server takes the kernel application down
 * and with it the node. rigil restarts a crashed system server instead, so the supervisor is
 * `one_for_one` with the flags OTP gives `kernel_safe_sup`, its supervisor for the kernel
 * children that may be restarted: at most 4 restarts in 3600 s. Beyond that the node gives
 * up as OTP's does: `kernel_sup` exits and the node stops (reported, kind `kernel`).
 *
 * Each child rebuilds what it needs when it restarts: rex holds no state (the procedures live
 * in the `Rpc` object); the global name server re-syncs the names with every connected node;
 * dist_ac asks the connected nodes where the applications run.
 */
import { genServer, supervisor, type ChildSpec, type Node, type Pid, type StartChildResult, type SupervisorBehaviour } from '@rigil/core';
import { distError } from './errors.js';
import { GLOBAL_NAME_SERVER, globalNameServer, type Global } from './global.js';
import { REX, rexServer, type Rpc } from './rpc.js';

/** The registered name of the kernel supervisor on every distributed node. */
export const KERNEL_SUP = 'kernel_sup';

/** Restart flags of `kernel_sup`: one_for_one, 4 restarts in 3600 s (OTP's `kernel_safe_sup`). */
export const KERNEL_SUP_FLAGS = { strategy: 'one_for_one', intensity: 4, period: 3600 } as const;

/** What `kernel_sup` needs of its node (a `DistNode` is one). */
export type KernelHost = Node & { readonly rpc: Rpc; readonly global: Global };

/** The children `kernel_sup` starts with, in order (OTP's `[Rpc, Global, …]`). */
export function kernelChildren(node: KernelHost): ChildSpec[] {
  return [
    // OTP's child specs for rex and global_name_server: permanent workers, shutdown 2000 ms.
    { id: REX, start: (sup) => genServer.startLink(sup, rexServer(node.rpc), undefined, { name: REX }), restart: 'permanent', shutdown: 2000 },
    { id: GLOBAL_NAME_SERVER, start: (sup) => genServer.startLink(sup, globalNameServer(node.global), undefined, { name: GLOBAL_NAME_SERVER }), restart: 'permanent', shutdown: 2000 },
  ];
}

/** The supervisor behaviour of `kernel_sup` (OTP's `kernel:init/1`). */
export function kernelSup(node: KernelHost): SupervisorBehaviour<undefined> {
  return { init: () => ({ flags: { ...KERNEL_SUP_FLAGS }, children: kernelChildren(node) }) };
}

/**
 * Starts `kernel_sup` on `node` with rex and the global name server (OTP's `kernel:start/2`).
 * When it exits — a child beyond the restart intensity — the node stops, as an OTP node halts
 * when its kernel application dies. Throws `ERR_BAD_CONFIG` if a child does not start.
 */
export async function startKernelSup(node: KernelHost): Promise<Pid> {
  const r = await supervisor.start(node, kernelSup(node), undefined, { name: KERNEL_SUP });
  if (r === 'ignore' || !('ok' in r) || r.ok === undefined) throw distError('ERR_BAD_CONFIG', 'the kernel supervisor did not start', r === 'ignore' ? 'ignore' : 'error' in r ? r.error : r);
  const pid = r.ok;
  node.monitor(pid, {
    onDown: (_ref, reason) => {
      if (node.stopped) return;
      node.report({ kind: 'kernel', message: 'kernel_sup exited: stopping the node (OTP halts a node whose kernel dies)', reason });
      node.stop().catch((e: unknown) => node.report({ kind: 'kernel', message: 'stopping the node failed', reason: e }));
    },
  });
  return pid;
}

/**
 * Starts another system server under the node's `kernel_sup` (OTP: a child of `kernel.erl`'s
 * init; used by @rigil/dist-ac for `dist_ac`). `{ ok: pid }` or `{ error }` as
 * `supervisor.startChild` returns them.
 */
export function addKernelChild(node: Node, spec: ChildSpec): Promise<StartChildResult> {
  return supervisor.startChild(node, KERNEL_SUP, spec);
}
