import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { EMPTY_STOP_BOARD, STOP_BOARD_MAX, stopBoardSchema, type StopBoard } from '../../lib/contracts/loadtest';

/**
 * Asks the workers of `runId` to stop: adds the run to the stack's stop board (an SSM parameter the
 * load-generator workers poll, lambda/load-generator/stop.ts), newest first, keeping the last
 * STOP_BOARD_MAX runs. A board that does not parse is replaced (it only ever holds stop requests).
 * Read-modify-write: two stops written in the same instant can lose one; the loser's CLI reads the board
 * back and writes again. At most 3 reads and 3 writes per stop, well inside Parameter Store's default
 * throughput, which GetParameter and PutParameter share per account and Region
 * (https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-throughput.html); a standard
 * parameter holds at most 4096 characters
 * (https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html), which
 * STOP_BOARD_MAX keeps the board under. Reproduced against moto in test/tools/loadtest/stop.test.ts (the
 * read-back), not the throughput or the size limit.
 */
export async function requestStop(client: SSMClient, parameterName: string, runId: string, now: () => Date = () => new Date()): Promise<StopBoard> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const board = await readBoard(client, parameterName);
    if (board.stopped.some((s) => s.runId === runId)) return board;
    const next: StopBoard = { stopped: [{ runId, at: now().toISOString() }, ...board.stopped].slice(0, STOP_BOARD_MAX) };
    await client.send(new PutParameterCommand({ Name: parameterName, Value: JSON.stringify(next), Type: 'String', Overwrite: true }));
    const written = await readBoard(client, parameterName);
    if (written.stopped.some((s) => s.runId === runId)) return written;
  }
  throw new Error(`could not add run ${runId} to ${parameterName}: another writer replaced it three times`);
}

async function readBoard(client: SSMClient, parameterName: string): Promise<StopBoard> {
  const out = await client.send(new GetParameterCommand({ Name: parameterName }));
  try {
    return stopBoardSchema.parse(JSON.parse(out.Parameter?.Value ?? ''));
  } catch {
    return EMPTY_STOP_BOARD;
  }
}
