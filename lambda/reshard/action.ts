import type { Pool } from 'pg';
import { z } from 'zod';
import { moveShard, planMoves, reshardStatus, type MoveResult, type MoveStep, type ReshardPlan, type ReshardStatus } from '../../workload/src/reshard';

/**
 * What the re-shard function does, without AWS: one action on a pool per cluster. The Lambda (./index.ts)
 * and `npm run reshard -- --local` (tools/reshard) both run it, so the local run is the deployed one.
 */

/** The function's event (`npm run reshard` sends it; parsed at the edge, by name). */
export const reshardEventSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('status') }),
  z.strictObject({ action: z.literal('plan') }),
  z.strictObject({ action: z.literal('move'), shard: z.number().int().min(0), to: z.number().int().min(0) }),
]);
export type ReshardEvent = z.infer<typeof reshardEventSchema>;

export type ReshardResponse =
  | { readonly action: 'status'; readonly status: ReshardStatus }
  | { readonly action: 'plan'; readonly status: ReshardStatus; readonly plan: ReshardPlan }
  | { readonly action: 'move'; readonly move: MoveResult };

export interface ActionOptions {
  /** The move's grace period (ms): how long the source keeps the moved shard's rows for readers. */
  readonly graceMs: number;
  /** Told after each step of a move (the Lambda logs it, the CLI prints it). */
  readonly onStep?: (step: MoveStep, detail: Record<string, unknown>) => void;
}

export async function runAction(event: ReshardEvent, clusters: readonly Pool[], options: ActionOptions): Promise<ReshardResponse> {
  switch (event.action) {
    case 'status':
      return { action: 'status', status: await reshardStatus(clusters) };
    case 'plan': {
      const status = await reshardStatus(clusters);
      return { action: 'plan', status, plan: planMoves(status) };
    }
    case 'move':
      return { action: 'move', move: await moveShard(clusters, event.shard, event.to, { graceMs: options.graceMs, onStep: options.onStep }) };
  }
}
